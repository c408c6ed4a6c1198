import { definePlaybook, directory, file, secret, template } from 'havn'

const port = 9090

/** A Jinja template from Ansible, one with a secret (HAVN_E2E_CANARY), and a typed TypeScript literal; HAVN_E2E_UNDEFINED=1 leaves `log_level` undefined. */
export default definePlaybook({
  name: 'template',
  plays: [
    {
      hosts: 'all',
      async run() {
        await directory({ path: '/etc/havn-tpl', mode: '0755' })
        await template({
          src: new URL('./templates/app.conf.j2', import.meta.url),
          dest: '/etc/havn-tpl/app.conf',
          mode: '0640',
          vars: {
            app_name: 'Shop',
            listeners: [{ address: '127.0.0.1' }, { address: '0.0.0.0', port: 443 }],
            tls: true,
            ...(process.env.HAVN_E2E_UNDEFINED === '1' ? {} : { log_level: 'info' }),
          },
        })
        await template({ src: new URL('./templates/db.conf.j2', import.meta.url), dest: '/etc/havn-tpl/db.conf', mode: '0600', vars: { db_user: 'app', db_password: secret(process.env.HAVN_E2E_CANARY ?? 'unset') } })
        await file({ path: '/etc/havn-tpl/typed.conf', content: `port = ${port}\nworkers = ${port / 1000 > 5 ? 4 : 2}\n` })
      },
    },
  ],
})
