// Compiled by `npm run typecheck` (part of `npm test`): the authoring API must accept the README's
// examples and reject wrong var types at compile time. Lines marked @ts-expect-error must fail.
import { command, definePlaybook, defineRole, file, secret, sh, type Secret } from 'havn'

const greet = defineRole<{ greeting: string; token: Secret }>({
  name: 'greet',
  schema: { type: 'object', properties: { greeting: { type: 'string' }, token: { type: 'string' } }, required: ['token'] },
  defaults: { greeting: 'hello' },
  async run(v, host) {
    await file({ path: '/etc/greeting', content: `${v.greeting} from ${host.name}\n`, mode: 0o644 })
    await command(sh`register-token ${v.token}`, { creates: '/var/lib/greet/registered' })
  },
})

export const ok = definePlaybook({
  name: 'typed',
  plays: [{ hosts: 'all', serial: [1, '25%'], maxFailPercent: 10, roles: [greet({ greeting: 'hei', token: secret('x') })] }],
})

export const wrongType = definePlaybook({
  name: 'typed',
  // @ts-expect-error greeting must be a string
  plays: [{ hosts: 'all', roles: [greet({ greeting: 42 })] }],
})

export const unknownVar = definePlaybook({
  name: 'typed',
  // @ts-expect-error no such var
  plays: [{ hosts: 'all', roles: [greet({ greting: 'typo' })] }],
})

export const badSerial = definePlaybook({
  name: 'typed',
  // @ts-expect-error serial percentages are strings like '25%'
  plays: [{ hosts: 'all', serial: '25 percent', run: async () => {} }],
})
