import { currentBed, down, hostExec, stopHost, up } from './index.ts'
import { HOST_KINDS, parseKind } from './kinds.ts'

const USAGE = `usage: npm run testbed -- <command>
  up N [--kinds K1,K2,...] [--jump-only K] [--prefix P] [--state-dir DIR]
                                                         start N hosts (+K reachable only via host 1);
                                                         kinds go to host1..hostN round-robin
                                                         (${HOST_KINDS.join(', ')})
  down [--state-dir DIR]                                 tear the bed down (idempotent)
  status [--state-dir DIR]                               print the running bed as JSON
  exec HOST SCRIPT [--state-dir DIR]                     run a shell script inside a host
  stop HOST [--state-dir DIR]                            kill a host's PID 1 (connects get refused)`

function parse(argv: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = []
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg.startsWith('--')) {
      const value = argv[++i]
      if (value === undefined) throw new Error(`option ${arg} needs a value`)
      flags.set(arg.slice(2), value)
    } else positional.push(arg)
  }
  return { positional, flags }
}

function integer(text: string | undefined, what: string): number {
  const n = Number(text)
  if (text === undefined || !Number.isInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got '${text ?? ''}'`)
  return n
}

async function main(): Promise<number> {
  const { positional, flags } = parse(process.argv.slice(2))
  const stateDir = flags.get('state-dir')
  const [command, ...rest] = positional
  switch (command) {
    case 'up': {
      const bed = await up({
        count: integer(rest[0], 'N'),
        jumpOnly: integer(flags.get('jump-only') ?? '0', '--jump-only'),
        ...(flags.has('kinds') ? { kinds: (flags.get('kinds') as string).split(',').map((k) => parseKind(k.trim())) } : {}),
        ...(flags.has('prefix') ? { prefix: flags.get('prefix') as string } : {}),
        ...(stateDir ? { stateDir } : {}),
      })
      process.stdout.write(`${JSON.stringify(bed, null, 2)}\n`)
      return 0
    }
    case 'down':
      await down(stateDir)
      return 0
    case 'status': {
      const bed = await currentBed(stateDir)
      if (!bed) {
        process.stderr.write('testbed: no bed is up\n')
        return 1
      }
      process.stdout.write(`${JSON.stringify(bed, null, 2)}\n`)
      return 0
    }
    case 'exec':
    case 'stop': {
      const bed = await currentBed(stateDir)
      if (!bed) throw new Error('no bed is up')
      const host = rest[0]
      if (!host) throw new Error(`${command} needs a HOST`)
      if (command === 'stop') {
        await stopHost(bed, host)
        return 0
      }
      const result = await hostExec(bed, host, rest.slice(1).join(' '))
      process.stdout.write(result.stdout)
      process.stderr.write(result.stderr)
      return result.code
    }
    default:
      process.stderr.write(`${USAGE}\n`)
      return command === undefined || command === 'help' ? 0 : 4
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`${message.startsWith('testbed:') ? message : `testbed: ${message}`}\n`)
    process.exit(1)
  },
)
