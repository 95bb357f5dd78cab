import { generateCurveKeyPair } from '@clover/protocol';
import { UsageError } from './jobs.js';

export const keysHelp = `clover keys [--agents N] [--json | --compose]
                               CURVE key pairs for the ZeroMQ channel: one for the dispatch-servers, N for agents`;

/**
 * `clover keys`: new CURVE key pairs (Z85, 40 characters each, from libzmq's zmq_curve_keypair),
 * printed as the environment lines each process reads (docs/security.md says where each goes):
 * one pair the dispatch-servers share, and `--agents N` (default 1, at most 100) agent pairs, with
 * the servers' allow-list of agent public keys. Secrets go to stdout only; nothing is written.
 * `--compose` prints them as the `.env` lines `deploy/compose.yaml` reads instead.
 *
 * @throws {UsageError} with a usage message for an unknown flag or a bad `--agents`.
 */
export function keysCommand(argv: string[], out: (line: string) => void): void {
  let agents = 1;
  let json = false;
  let compose = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--compose') compose = true;
    else if (arg === '--agents') {
      agents = Number(argv[++i]);
      if (!Number.isInteger(agents) || agents < 1 || agents > 100) throw new UsageError('--agents takes a whole number from 1 to 100');
    } else throw new UsageError(`unknown argument "${String(arg)}"\nusage: ${keysHelp}`);
  }
  const server = generateCurveKeyPair();
  const agentPairs = Array.from({ length: agents }, () => generateCurveKeyPair());
  if (json) {
    out(JSON.stringify({ server, agents: agentPairs }, null, 2));
    return;
  }
  if (compose) {
    out(`CLOVER_SERVER_SECRET_KEY=${server.secretKey}`);
    out(`CLOVER_SERVER_PUBLIC_KEY=${server.publicKey}`);
    out(`CLOVER_AGENT_PUBLIC_KEYS=${agentPairs.map((a) => a.publicKey).join(',')}`);
    agentPairs.forEach((a, i) => {
      out(`CLOVER_AGENT${i + 1}_PUBLIC_KEY=${a.publicKey}`);
      out(`CLOVER_AGENT${i + 1}_SECRET_KEY=${a.secretKey}`);
    });
    return;
  }
  out('# dispatch-server (every one of them: they share this pair)');
  out(`CLOVER_CURVE_SECRET_KEY=${server.secretKey}`);
  out(`CLOVER_CURVE_ALLOWED_KEYS=${agentPairs.map((a) => a.publicKey).join(',')}`);
  agentPairs.forEach((a, i) => {
    out('');
    out(`# agent ${i + 1} (scheduler-client)`);
    out(`CLOVER_CURVE_PUBLIC_KEY=${a.publicKey}`);
    out(`CLOVER_CURVE_SECRET_KEY=${a.secretKey}`);
    out(`CLOVER_CURVE_SERVER_KEY=${server.publicKey}`);
  });
}
