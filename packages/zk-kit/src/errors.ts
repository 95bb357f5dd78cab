/** A ZooKeeper error with its code (the C client's return code or a name for the in-process tree). */
export class ZkError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${message}: ${path}` : message);
    this.name = 'ZkError';
  }
}
export class NoNodeError extends ZkError {
  constructor(path?: string) {
    super('NONODE', 'no node', path);
    this.name = 'NoNodeError';
  }
}
export class NodeExistsError extends ZkError {
  constructor(path?: string) {
    super('NODEEXISTS', 'node exists', path);
    this.name = 'NodeExistsError';
  }
}
export class BadVersionError extends ZkError {
  constructor(path?: string) {
    super('BADVERSION', 'version conflict', path);
    this.name = 'BadVersionError';
  }
}
export class NotEmptyError extends ZkError {
  constructor(path?: string) {
    super('NOTEMPTY', 'node has children', path);
    this.name = 'NotEmptyError';
  }
}
/** The session lacks the ACL permission for the operation (ZNOAUTH): the node is clover's, or someone else's. */
export class NoAuthError extends ZkError {
  constructor(path?: string) {
    super('NOAUTH', 'not authenticated for this node', path);
    this.name = 'NoAuthError';
  }
}
export class ConnectionLossError extends ZkError {
  constructor(path?: string) {
    super('CONNECTIONLOSS', 'no ZooKeeper connection', path);
    this.name = 'ConnectionLossError';
  }
}
export class InvalidDataError extends ZkError {
  constructor(path: string, detail: string) {
    super('INVALIDDATA', `invalid data (${detail})`, path);
    this.name = 'InvalidDataError';
  }
}
