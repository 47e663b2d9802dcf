import type { PlatformDriver } from './contract.ts';

/**
 * Everything Ottr knows about a platform before any of its driver code runs: what validation, planning, the
 * routes schema, `import-ottr`, `sync` and `status` need. Each platform folder's index.ts exports one; the
 * registry (registry.ts) lists them. The driver itself is loaded only when a rotation needs it, so that
 * `validate` never loads ssh2 or the AWS SDK.
 */
export interface PlatformManifest<Options = unknown> {
  /** The value of a route's `platform` (the driver name), e.g. `panos`. */
  readonly name: string;
  readonly title: string;
  readonly transport: 'https' | 'ssh' | 'ssm';
  readonly connection: {
    /** Fields of a device's `connection` this platform reads. Others are reported as not applicable. */
    readonly fields: readonly string[];
    /** Fields of `connection` that must be present. */
    readonly required: readonly string[];
  };
  /** Key types the device can generate itself. */
  readonly keyTypes: readonly ('rsa' | 'ecdsa')[];
  readonly options: OptionsSpec<Options>;
  /** How other tools name this platform: Ottr's task families and CMDB exports. */
  readonly aliases?: {
    /**
     * Words in an Ottr task name (`otter-panos-9x-…`) that mean this driver. The platform with the most words
     * in the name wins; a tie goes to the first in the registry.
     */
    readonly ottrTaskWords?: readonly string[];
    /** Route options that keep a device configured the way Ottr left it (`import-ottr`). */
    readonly ottrParityOptions?: Readonly<Record<string, unknown>>;
    /** Default `connection.credentials` secret NAME for imported devices. */
    readonly defaultCredentials?: string;
    /** How CMDB exports spell the `host_platform` this platform rotates (`pan-os` → panos), for `sync`. */
    readonly cmdbNames?: readonly string[];
  };
  /** The driver, loaded on first use. */
  loadDriver(): Promise<PlatformDriver>;
}

/** A route's `options` for one platform: their JSON Schema and their one reading into a typed object. */
export interface OptionsSpec<Options> {
  /**
   * JSON Schema (draft 2020-12) of `options` in routing/routes.yaml; `npm run build:schemas` writes it into
   * schemas/routes.schema.json as `$defs.options_<name>`.
   */
  readonly schema: Readonly<Record<string, unknown>>;
  /**
   * The options as the driver uses them, defaults filled in and durations in ms. Throws OptionsError naming the
   * option when a value cannot be used (validation reports the same at the option's line).
   */
  parse(raw: Readonly<Record<string, unknown>> | undefined): Options;
}

/**
 * A route option that cannot be used: `option` names it (`commit_timeout`), `problem` says what is wrong with
 * it ("must be a duration like 30d…"); the message reads `options.commit_timeout must be …`.
 */
export class OptionsError extends Error {
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(`options.${option} ${problem}`);
    this.name = 'OptionsError';
  }
}
