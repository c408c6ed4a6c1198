import { command, definePlaybook, defineRole } from 'havn'

interface GreetVars {
  greeting: string
  repeat: number
}

const greet = defineRole<GreetVars>({
  name: 'greet',
  schema: {
    type: 'object',
    properties: { greeting: { type: 'string' }, repeat: { type: 'integer', minimum: 1 } },
    required: ['greeting', 'repeat'],
    additionalProperties: false,
  },
  defaults: { greeting: 'hello', repeat: 1 },
  async run(v) {
    await command(`echo ${JSON.stringify(v.greeting.repeat(v.repeat))}`, { name: 'greet' })
  },
})

export default definePlaybook({ name: 'typed-vars', plays: [{ hosts: 'all', roles: [greet()] }] })
