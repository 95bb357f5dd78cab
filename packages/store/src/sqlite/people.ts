import type Database from 'better-sqlite3';
import {
  apiTokenSchema,
  contactInputSchema,
  contactSchema,
  newId,
  sessionSchema,
  userSchema,
  type ApiToken,
  type Contact,
  type ContactInput,
  type Session,
  type Grant,
  type Role,
  type User,
  type UserInput,
} from '@clover/model';
import type { ContactRepository, SessionRepository, TokenRepository, UserRepository } from '../interfaces.js';
import { DuplicateError } from '../errors.js';
import { promised } from './promised.js';

const docs = <T>(rows: unknown[], parse: (v: unknown) => T): T[] => (rows as Array<{ doc: string }>).map((r) => parse(JSON.parse(r.doc)));
const doc = <T>(row: unknown, parse: (v: unknown) => T): T | null => (row ? parse(JSON.parse((row as { doc: string }).doc)) : null);

export class SqliteContacts implements ContactRepository {
  constructor(private readonly db: Database.Database) {}
  list(): Promise<Contact[]> {
    return promised(() => docs(this.db.prepare('SELECT doc FROM contacts ORDER BY id').all(), (v) => contactSchema.parse(v)));
  }
  get(id: string): Promise<Contact | null> {
    return promised(() => doc(this.db.prepare('SELECT doc FROM contacts WHERE id = ?').get(id), (v) => contactSchema.parse(v)));
  }
  create(input: ContactInput): Promise<Contact> {
    return promised(() => {
      const contact = contactSchema.parse({ ...contactInputSchema.parse(input), id: newId('ct') });
      this.db.prepare('INSERT INTO contacts (id, doc) VALUES (?, ?)').run(contact.id, JSON.stringify(contact));
      return contact;
    });
  }
  update(id: string, input: ContactInput): Promise<Contact | null> {
    return promised(() => {
      const contact = contactSchema.parse({ ...contactInputSchema.parse(input), id });
      const changed = this.db.prepare('UPDATE contacts SET doc = ? WHERE id = ?').run(JSON.stringify(contact), id).changes;
      return changed ? contact : null;
    });
  }
  delete(id: string): Promise<boolean> {
    return promised(() => this.db.prepare('DELETE FROM contacts WHERE id = ?').run(id).changes > 0);
  }
}

export class SqliteUsers implements UserRepository {
  constructor(private readonly db: Database.Database) {}
  get(name: string): Promise<User | null> {
    return promised(() => doc(this.db.prepare('SELECT doc FROM users WHERE name = ?').get(name), (v) => userSchema.parse(v)));
  }
  list(): Promise<User[]> {
    return promised(() => docs(this.db.prepare('SELECT doc FROM users ORDER BY name').all(), (v) => userSchema.parse(v)));
  }
  create(user: UserInput): Promise<User> {
    return promised(() => {
      const u = userSchema.parse(user);
      try {
        this.db.prepare('INSERT INTO users (name, doc) VALUES (?, ?)').run(u.name, JSON.stringify(u));
      } catch (err) {
        if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError(`user ${u.name}`);
        throw err;
      }
      return u;
    });
  }
  async setPassword(name: string, passwordHash: string): Promise<boolean> {
    const u = await this.get(name);
    if (!u) return false;
    this.db.prepare('UPDATE users SET doc = ? WHERE name = ?').run(JSON.stringify({ ...u, passwordHash }), name);
    return true;
  }
  setAccess(name: string, access: { role?: Role; grants?: Grant[]; disabled?: boolean }): Promise<User | null> {
    return promised(() => {
      const u = doc(this.db.prepare('SELECT doc FROM users WHERE name = ?').get(name), (v) => userSchema.parse(v));
      if (!u) return null;
      const next = userSchema.parse({ ...u, ...access });
      this.db.prepare('UPDATE users SET doc = ? WHERE name = ?').run(JSON.stringify(next), name);
      return next;
    });
  }
  delete(name: string): Promise<boolean> {
    return promised(() => this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes > 0);
  }
  count(): Promise<number> {
    return promised(() => (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n);
  }
}

export class SqliteSessions implements SessionRepository {
  constructor(private readonly db: Database.Database) {}
  create(session: Session): Promise<void> {
    return promised(() => {
      this.db
        .prepare('INSERT INTO sessions (id, expires_at, doc) VALUES (?, ?, ?)')
        .run(session.id, session.expiresAt.getTime(), JSON.stringify(session));
    });
  }
  get(id: string): Promise<Session | null> {
    return promised(() => doc(this.db.prepare('SELECT doc FROM sessions WHERE id = ?').get(id), (v) => sessionSchema.parse(v)));
  }
  delete(id: string): Promise<void> {
    return promised(() => {
      this.db.prepare('DELETE FROM sessions WHERE id = ?').run(id);
    });
  }
  deleteExpired(now: Date): Promise<number> {
    return promised(() => this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.getTime()).changes);
  }
}

export class SqliteTokens implements TokenRepository {
  constructor(private readonly db: Database.Database) {}
  create(token: ApiToken): Promise<void> {
    return promised(() => {
      const t = apiTokenSchema.parse(token);
      try {
        this.db.prepare('INSERT INTO tokens (id, hash, doc) VALUES (?, ?, ?)').run(t.id, t.hash, JSON.stringify(t));
      } catch (err) {
        if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new DuplicateError(`token ${t.id}`);
        throw err;
      }
    });
  }
  findByHash(hash: string): Promise<ApiToken | null> {
    return promised(() => doc(this.db.prepare('SELECT doc FROM tokens WHERE hash = ?').get(hash), (v) => apiTokenSchema.parse(v)));
  }
  list(): Promise<ApiToken[]> {
    return promised(() => docs(this.db.prepare('SELECT doc FROM tokens ORDER BY id').all(), (v) => apiTokenSchema.parse(v)));
  }
  delete(id: string): Promise<boolean> {
    return promised(() => this.db.prepare('DELETE FROM tokens WHERE id = ?').run(id).changes > 0);
  }
}
