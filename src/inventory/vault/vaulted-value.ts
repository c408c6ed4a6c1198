/** A `!vault`-tagged YAML value, still encrypted: the keyring opens it once the file is read. */
export class VaultedValue {
  readonly envelope: string

  constructor(envelope: string) {
    this.envelope = envelope
  }
}
