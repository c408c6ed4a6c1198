import { definePlaybook, file } from 'havn'

/** Writes host var `body` to a file that must pass a validator (its first line must be `good`). */
export default definePlaybook({
  name: 'validated-file',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await file({ path: '/etc/validated.conf', content: String(host.vars.body), mode: 0o644, validate: "head -n1 %s | grep -qx good || { echo 'validator: first line must be good' >&2; exit 1; }" })
      },
    },
  ],
})
