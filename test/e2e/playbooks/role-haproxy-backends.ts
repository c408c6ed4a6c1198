import { defineHandler, definePlaybook, file, packages, service } from 'havn'

const restart = defineHandler('e2e-role-haproxy-backend-restart', async () => {
  await service.restart('haproxy')
})

/**
 * Tiny HTTP backends for the haproxy-burst test without Python: a second HAProxy on each host that
 * answers every request on :8080 (including the health check) with the host's name.
 */
export default definePlaybook({
  name: 'role-haproxy-backends',
  plays: [
    {
      hosts: 'all',
      async run(host) {
        await packages({ names: ['haproxy'] })
        const cfg = [
          // No `daemon`: the init script passes -D itself, and systemd runs HAProxy in the foreground (-Ws).
          'global',
          '\tmaxconn 256',
          'defaults',
          '\tmode http',
          '\ttimeout connect 2s',
          '\ttimeout client 10s',
          '\ttimeout server 10s',
          'frontend responder',
          '\tbind *:8080',
          `\thttp-request return status 200 content-type text/plain string "${host.name}"`,
          '',
        ].join('\n')
        await file({ path: '/etc/haproxy/haproxy.cfg', content: cfg, validate: 'haproxy -c -f %s', notify: [restart] })
      },
    },
  ],
})
