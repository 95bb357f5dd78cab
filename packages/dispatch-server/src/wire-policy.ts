import { SettingError } from '@clover/config';
import { isLocalEndpoint } from '@clover/protocol';

/**
 * Whether this dispatch-server may start with its ZeroMQ settings, and what it must warn about
 * (docs/security.md, "The wire"). Anyone who can reach a plaintext ROUTER can say HELLO as an
 * agent and receive other teams' job payloads, or answer for runs it never ran; so:
 *
 * - CURVE on (`curveSecretKey`) needs at least one allowed agent key, or no agent could connect;
 * - CURVE off is fine on this machine only (loopback, ipc): a `bind` elsewhere is refused unless
 *   `insecurePlaintext`, and then every start warns.
 *
 * @returns the warning to log at start, or null.
 * @throws {SettingError} naming the setting to fix.
 */
export function checkWirePolicy(s: {
  bind: string;
  curveSecretKey: string | undefined;
  curveAllowedKeys: readonly string[];
  insecurePlaintext: boolean;
}): string | null {
  if (s.curveSecretKey) {
    if (s.curveAllowedKeys.length === 0)
      throw new SettingError(
        'CLOVER_CURVE_ALLOWED_KEYS',
        "is empty: with CURVE on no agent could connect; list the agents' public keys (clover keys)",
      );
    return null;
  }
  if (isLocalEndpoint(s.bind)) return null;
  if (!s.insecurePlaintext) {
    throw new SettingError(
      'CLOVER_CURVE_SECRET_KEY',
      `is required when CLOVER_DISPATCH_BIND (${s.bind}) is reachable from other machines: make keys with \`clover keys\`, ` +
        'or set CLOVER_INSECURE_PLAINTEXT=true to accept that anyone who reaches this port can take jobs and answer for runs',
    );
  }
  return `plaintext ZeroMQ on ${s.bind} (CLOVER_INSECURE_PLAINTEXT=true): anyone who reaches this port can take jobs and answer for runs`;
}
