import { parse } from 'yaml';
import type { DeviceRecord } from '../model/device-file.ts';
import type { CertificateRecord } from '../model/types.ts';
import { Git } from './git.ts';

/**
 * Certificates recorded on the rotations branch whose pull request is not merged yet, by device file. Without
 * them, a run planned before the merge would see the old expiry and rotate the same devices again. Only files
 * the branch changes are read, and only a `certificate:` block newer than the checkout's counts.
 */
export async function pendingCertificates(
  root: string,
  ref: string,
): Promise<Map<string, CertificateRecord>> {
  const git = new Git(root);
  const pending = new Map<string, CertificateRecord>();
  if (!(await git.revParse(ref).catch(() => undefined))) return pending;
  const changed = await git.output(['diff', '--name-only', '-z', `HEAD...${ref}`, '--', 'inventory']);
  for (const file of changed.split('\0').filter((f) => /\.ya?ml$/.test(f))) {
    const text = await git.output(['show', `${ref}:${file}`]).catch(() => undefined);
    if (text === undefined) continue;
    try {
      const certificate = (parse(text, { schema: 'core' }) as { certificate?: CertificateRecord } | null)
        ?.certificate;
      if (certificate && !Number.isNaN(Date.parse(certificate.not_after))) pending.set(file, certificate);
    } catch {
      // a file the branch broke is the pull request's problem, not the plan's
    }
  }
  return pending;
}

/** Applies pending certificates that are newer than the recorded ones; returns the devices that changed. */
export function withPendingCertificates(
  records: DeviceRecord[],
  pending: ReadonlyMap<string, CertificateRecord>,
): string[] {
  const applied: string[] = [];
  for (const record of records) {
    const newer = pending.get(record.file);
    const device = record.device;
    if (!newer || !device) continue;
    const current = device.certificate?.not_after
      ? Date.parse(device.certificate.not_after)
      : Number.NEGATIVE_INFINITY;
    if (Date.parse(newer.not_after) <= current) continue;
    device.certificate = newer;
    applied.push(record.system_name);
  }
  return applied;
}
