/** The PEM certificate blocks of a text (comments and other blocks between them are ignored). */
export function pemCertificates(text: string): string[] {
  return (
    text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? []
  );
}
