/** File and folder names: `inventory/<data_center>/<system_name>.yaml` (the device schema's pattern). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A host platform as this repository writes it: `PAN-OS` → `pan-os`, `Ubuntu` → `ubuntu`. */
export function platformKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}

/** A name as a snake_case settings key: `Let's Encrypt` → `lets_encrypt`. */
export function snakeCaseKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}
