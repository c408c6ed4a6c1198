import { command, definePlaybook, defineRole, file, sh, type Secret } from 'havn'

interface EstateVars {
  token: Secret
}

/** Writes a vaulted token where only root can read it, and records whom sudo came from. */
const estate = defineRole<EstateVars>({
  name: 'estate',
  schema: { type: 'object', properties: { token: { type: 'string', secret: true, minLength: 8 } }, required: ['token'] },
  async run(v) {
    await file({ path: '/root/estate-token.txt', content: v.token, mode: 0o600 })
    await command(sh`printf '%s\n' "$SUDO_USER" > /root/estate-login.txt`, { name: 'record the login user' })
  },
})

export default definePlaybook({ name: 'ansible estate', plays: [{ hosts: 'estate', roles: [estate()] }] })
