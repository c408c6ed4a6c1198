import { absent, command, defineHandler, definePlaybook, directory, file, iniSetting, line, packages, service, sysctl, user } from 'havn'

const restartCron = defineHandler('e2e-all-modules-restart-cron', async () => {
  await service.restart('cron')
})

/**
 * Every builtin module once. Services are driven to states the package install does not leave
 * them in (haproxy stopped and disabled), so a check's predictions can be compared with the run.
 */
export default definePlaybook({
  name: 'all-modules',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await packages({ names: ['cron', 'haproxy'] })
        await service({ name: 'haproxy', state: 'stopped', enabled: false })
        await user({ name: 'appuser', shell: '/bin/sh', createHome: true })
        await directory({ path: '/etc/app', mode: 0o750 })
        await file({ path: '/etc/app/app.conf', content: `name = ${host.name}\nrole = ${String(host.vars.appRole ?? 'web')}\n`, mode: 0o640, notify: [restartCron] })
        await line({ path: '/etc/app/app.env', line: 'APP_TUNED=yes', regexp: '^APP_TUNED=', create: true })
        await iniSetting({ path: '/etc/app/my.cnf', section: 'mysqld', key: 'net_read_timeout', value: 60 })
        await sysctl({ key: 'net.ipv4.ip_forward', value: 1 })
        await absent({ path: '/etc/app/obsolete.conf' })
        await command('date -u > /etc/app/initialized', { creates: '/etc/app/initialized', name: 'initialize app' })
      },
    },
  ],
})
