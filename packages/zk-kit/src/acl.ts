import { createHash } from 'node:crypto';

/** One ZooKeeper ACL entry: who (`scheme:id`) may do what (`perms`, a bit set of {@link Perms}). */
export interface ZkAclEntry {
  scheme: string;
  id: string;
  perms: number;
}

/** ZooKeeper's permission bits (org.apache.zookeeper.ZooDefs.Perms). */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/**
 * Who clover's processes are to ZooKeeper: a user and password of the `digest` scheme. The
 * password is a secret (it never appears in logs, errors or the API); every clover process of a
 * cluster uses the same pair.
 */
export interface ZkCredentials {
  user: string;
  password: string;
}

/**
 * The digest ACL id of a user and password: `user:base64(sha1("user:password"))`, as ZooKeeper's
 * DigestAuthenticationProvider.generateDigest computes it.
 */
export function digestId({ user, password }: ZkCredentials): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

/**
 * The ACL clover puts on every node it creates when it has credentials: all permissions for
 * clover's identity and nothing for anyone else (`worldReadable` adds read for everyone, for
 * monitoring tools that only look). The model is Curator's ACLProvider with one ACL for the tree.
 */
export function cloverAcl(credentials: ZkCredentials, opts: { worldReadable?: boolean } = {}): ZkAclEntry[] {
  const acl: ZkAclEntry[] = [{ scheme: 'digest', id: digestId(credentials), perms: Perms.ALL }];
  if (opts.worldReadable) acl.push({ scheme: 'world', id: 'anyone', perms: Perms.READ });
  return acl;
}

/** The raw session primitives {@link secureCreated} needs. */
export interface AclPrimitives {
  setAcl(path: string, version: number, acl: ZkAclEntry[]): Promise<void>;
  exists(path: string): Promise<{ version: number; numChildren: number } | null>;
  set(path: string, data: Buffer, version: number): Promise<unknown>;
  children(path: string): Promise<string[]>;
  delete(path: string, version: number): Promise<void>;
}

/**
 * Makes a node clover has just created its own. ZooKeeper's C client (and so the npm `zookeeper`
 * binding) creates every node with the open ACL, so between the create and this call anyone could
 * have changed it: set its ACL first, or its data, or created children under it (a forged
 * election candidate under a new election folder). This closes each of those:
 *
 * 1. the ACL is set at ACL version 0, so a node whose ACL someone else already set is refused
 *    (BADVERSION or NOAUTH): it is deleted (clover may, holding DELETE on the parent) and the
 *    create is reported failed, to be retried by the caller;
 * 2. data written in the window (data version > 0) is written back;
 * 3. children made in the window are all foreign, since the node is new: they are deleted, with
 *    their own children (made with the open ACL, clover may).
 *
 * What this cannot undo: a child made in the window whose maker then locked it with an ACL of its
 * own and put a child under it. Clover may not delete it; this throws naming it, the operation
 * that created the node fails (loudly, and again on every retry), and an operator removes it as
 * ZooKeeper's super user. A forged election candidate left that way gets no agent: agents pin the
 * servers' CURVE key (docs/security.md).
 *
 * @throws the setAcl error of step 1, after the tampered node is deleted.
 * @throws {Error} naming a foreign child that could not be removed.
 */
export async function secureCreated(p: AclPrimitives, path: string, data: Buffer, acl: ZkAclEntry[]): Promise<void> {
  try {
    await p.setAcl(path, 0, acl);
  } catch (err) {
    await p.delete(path, -1).catch(() => undefined);
    throw err;
  }
  const stat = await p.exists(path);
  if (!stat) return;
  if (stat.version !== 0) await p.set(path, data, -1);
  if (stat.numChildren === 0) return;
  for (const child of await p.children(path)) {
    try {
      await deleteTree(p, `${path}/${child}`);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${path}/${child} was made by someone else while ${path} had no ACL yet, and cannot be removed (${why})`);
    }
  }
}

async function deleteTree(p: AclPrimitives, path: string): Promise<void> {
  for (const child of await p.children(path)) await deleteTree(p, `${path}/${child}`);
  await p.delete(path, -1);
}
