import { command, definePlaybook, defineRole, file, secret, sh, type Secret } from 'havn'

interface CanaryVars {
  token: Secret
  fail: boolean
}

/** Uses a secret var as file content and inside a command; with `fail`, a command prints it and fails. */
const canary = defineRole<CanaryVars>({
  name: 'canary',
  schema: { type: 'object', properties: { token: { type: 'string', minLength: 8 }, fail: { type: 'boolean' } }, required: ['token'] },
  defaults: { fail: false },
  async run(v) {
    await file({ path: '/root/canary.txt', content: v.token, mode: 0o600 })
    await command(sh`printf '%s\n' ${v.token} > /root/canary-cmd.txt`, { name: 'write token with a command' })
    if (v.fail) await command(sh`echo "token is ${v.token}"; echo "bad token ${v.token}" >&2; exit 3`, { name: 'fail loudly' })
  },
})

const token = process.env.HAVN_E2E_CANARY
if (!token) throw new Error('set HAVN_E2E_CANARY')

export default definePlaybook({
  name: 'canary',
  plays: [{ hosts: 'all', become: true, roles: [canary({ token: secret(token), fail: process.env.HAVN_E2E_FAIL === '1' })] }],
})
