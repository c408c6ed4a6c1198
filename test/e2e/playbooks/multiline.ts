import { command, definePlaybook } from 'havn'

/** Two steps per host, each printing five lines with a random pause, to provoke interleaving. */
export default definePlaybook({
  name: 'multiline',
  plays: [
    {
      hosts: 'all',
      async run() {
        for (const step of ['first', 'second']) {
          await command(`for i in 1 2 3 4 5; do echo "$(hostname) ${step} $i"; sleep 0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 5 )); done`, { name: `${step} block` })
        }
      },
    },
  ],
})
