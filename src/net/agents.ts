import { proxyConfigured } from './proxy.ts';
import { ProxyAwareHttpAgent, ProxyAwareHttpsAgent } from './tunnel.ts';

/**
 * The AWS SDK client option that routes its requests through the proxy the environment names (when one is set;
 * otherwise nothing, and the SDK keeps its own handler). The SDK takes the NodeHttpHandler options in place of a
 * handler; keepAlive and 50 sockets are the SDK's own defaults.
 */
export function awsProxyOptions(env: NodeJS.ProcessEnv = process.env): {
  requestHandler?: { httpAgent: ProxyAwareHttpAgent; httpsAgent: ProxyAwareHttpsAgent };
} {
  if (!proxyConfigured(env)) return {};
  return {
    requestHandler: {
      httpAgent: new ProxyAwareHttpAgent({ keepAlive: true, maxSockets: 50 }, env),
      httpsAgent: new ProxyAwareHttpsAgent({ keepAlive: true, maxSockets: 50 }, env),
    },
  };
}
