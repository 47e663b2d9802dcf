import type {
  CsrRequest,
  DriverContext,
  DriverSession,
  InstallReceipt,
  PlatformDriver,
} from '../../../src/platforms/contract.ts';
import { LocalFilesClient } from './client.ts';
import type { LocalFilesOptions } from './index.ts';

/** The session steps of the contract, on the files of LocalFilesClient. */
function session(client: LocalFilesClient, port: number, servername: string): DriverSession {
  return {
    async precheck() {
      if (!client.exists('live.key') || !client.exists('live.crt'))
        throw new Error(`${client.directory} holds no live.key and live.crt`);
    },
    generateCsr: (request: CsrRequest) =>
      client.newKeyAndCsr(request.rotationId, request.names, request.key.curve ?? 'P-256'),
    async install(chainPem: string, request: CsrRequest): Promise<InstallReceipt> {
      client.write(`${request.rotationId}.crt`, chainPem);
      return { id: request.rotationId };
    },
    async activate(receipt: InstallReceipt) {
      const id = String(receipt.id);
      client.write(`${id}.prev.key`, client.read('live.key'));
      client.write(`${id}.prev.crt`, client.read('live.crt'));
      client.move(`${id}.key`, 'live.key');
      client.move(`${id}.crt`, 'live.crt');
    },
    async rollback(receipt: InstallReceipt) {
      const id = String(receipt.id);
      if (!client.exists(`${id}.prev.key`)) return;
      client.move(`${id}.prev.key`, 'live.key');
      client.move(`${id}.prev.crt`, 'live.crt');
    },
    async cleanup(receipt: InstallReceipt) {
      client.remove(`${receipt.id}.prev.key`);
      client.remove(`${receipt.id}.prev.crt`);
    },
    async discard(request: CsrRequest) {
      client.remove(`${request.rotationId}.key`);
    },
    tlsEndpoint: () => ({ host: '127.0.0.1', port, servername }),
    async close() {},
  };
}

export const localFilesDriver: PlatformDriver<LocalFilesOptions> = {
  name: 'local-files',
  async connect(context: DriverContext<LocalFilesOptions>): Promise<DriverSession> {
    const port = context.device.connection?.tls_port;
    if (!port) throw new Error('connection.tls_port is required');
    return session(new LocalFilesClient(context.options.directory), port, context.device.common_name);
  },
};
