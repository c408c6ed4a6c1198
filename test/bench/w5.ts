import { command, definePlaybook, directory, file, iniSetting } from 'havn'

/**
 * The W5 benchmark workload: five idempotent steps per host. `secret.key` has no content, so the
 * first run creates it empty with mode 0600 (the reset removes /etc/bench), later runs only check
 * its mode; Ansible's twin uses `file: state=touch` with preserved times for the same effect.
 */
export default definePlaybook({
  name: 'bench-w5',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await directory({ path: '/etc/bench', mode: 0o755 })
        await file({ path: '/etc/bench/app.conf', content: `# managed by havn\nname = ${host.name}\nport = ${String(host.vars.app_port)}\nenv = ${String(host.vars.app_env)}\n`, mode: 0o644 })
        await iniSetting({ path: '/etc/bench/my.cnf', section: 'mysqld', key: 'net_read_timeout', value: 60 })
        await file({ path: '/etc/bench/secret.key', mode: 0o600 })
        await command('date -u > /etc/bench/initialized', { creates: '/etc/bench/initialized', name: 'initialize bench' })
      },
    },
  ],
})
