import { useState } from 'react';
import { api } from '../api/client';
import type { Contact, ContactInput } from '../api/types';
import { useCan } from '../auth';
import { useNotify } from '../components/notify';
import { Badge, SaveCancel, ConfirmDialog, Empty, ErrorBanner, errorText, Field, Loading, Modal, PageHeader } from '../components/ui';
import { fieldTexts } from '../lib/issues';
import { useT } from '../i18n';
import { useAsync, useSubmit } from '../lib/hooks';
import { fieldError } from '../lib/jobForm';

export function ContactsPage() {
  const t = useT();
  const can = useCan();
  const notify = useNotify();
  const contacts = useAsync(() => api.contacts(), []);
  const [editing, setEditing] = useState<Contact | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Contact | null>(null);
  const items = contacts.data?.items ?? [];

  return (
    <div data-testid="page-contacts">
      <PageHeader title={t('contacts.title')}>
        {can.operate && (
          <button type="button" className="primary" onClick={() => setEditing('new')} data-testid="contact-new">
            {t('contacts.new')}
          </button>
        )}
      </PageHeader>
      <p className="muted small">{t('contacts.intro')}</p>
      <ErrorBanner error={contacts.error} />
      {!contacts.data && !contacts.error && <Loading />}
      {contacts.data && items.length === 0 && <Empty testId="contacts-empty">{t('contacts.empty')}</Empty>}
      {items.length > 0 && (
        <table className="table" data-testid="contacts-table">
          <thead>
            <tr>
              <th>{t('contacts.name')}</th>
              <th>{t('contacts.email')}</th>
              <th>{t('contacts.phone')}</th>
              <th>{t('contacts.groups')}</th>
              <th>{t('contacts.enabled')}</th>
              {can.operate && <th className="actions">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} data-testid="contact-row" data-contact-id={c.id} data-contact-name={c.name}>
                <td className="strong">{c.name}</td>
                <td>{c.email}</td>
                <td>{c.phone || <span className="muted">—</span>}</td>
                <td>{c.groups.length ? c.groups.join(', ') : <span className="muted">—</span>}</td>
                <td>{c.enabled ? <Badge kind="ok">{t('common.yes')}</Badge> : <Badge kind="idle">{t('common.no')}</Badge>}</td>
                {can.operate && (
                  <td className="actions">
                    <button type="button" className="small" onClick={() => setEditing(c)} data-testid="contact-edit">
                      {t('common.edit')}
                    </button>
                    <button type="button" className="small danger" onClick={() => setDeleting(c)} data-testid="contact-delete">
                      {t('common.delete')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <ContactDialog
          contact={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(created) => {
            notify(created ? t('contacts.created') : t('contacts.saved'));
            setEditing(null);
            void contacts.reload();
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('contacts.deleteTitle')}
          message={t('contacts.deleteMessage', { name: deleting.name })}
          onConfirm={async () => {
            await api.deleteContact(deleting.id);
            notify(t('contacts.deleted'));
            void contacts.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </div>
  );
}

/** The ContactInput the API expects from the dialog's inputs. */
export function contactInput(v: {
  name: string;
  email: string;
  phone: string;
  groups: string;
  enabled: boolean;
  /** '' for none: the cluster's language applies. */
  language?: '' | 'en' | 'zh';
}): ContactInput {
  const input: ContactInput = {
    name: v.name.trim(),
    email: v.email.trim(),
    groups: v.groups
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean),
    enabled: v.enabled,
  };
  if (v.phone.trim()) input.phone = v.phone.trim();
  if (v.language) input.language = v.language;
  return input;
}

function ContactDialog({
  contact,
  onClose,
  onSaved,
}: {
  contact: Contact | null;
  onClose: () => void;
  onSaved: (created: boolean) => void;
}) {
  const t = useT();
  const [name, setName] = useState(contact?.name ?? '');
  const [email, setEmail] = useState(contact?.email ?? '');
  const [phone, setPhone] = useState(contact?.phone ?? '');
  const [groups, setGroups] = useState((contact?.groups ?? []).join(', '));
  const [enabled, setEnabled] = useState(contact?.enabled ?? true);
  const [language, setLanguage] = useState<'' | 'en' | 'zh'>(contact?.language ?? '');
  const { submit, busy, error } = useSubmit(async () => {
    const input = contactInput({ name, email, phone, groups, enabled, language });
    if (contact) await api.updateContact(contact.id, input);
    else await api.createContact(input);
    onSaved(!contact);
  });
  const fields = fieldTexts(error, t);
  return (
    <Modal
      title={contact ? t('contacts.editTitle') : t('contacts.newTitle')}
      onClose={onClose}
      testId="contact-dialog"
      footer={<SaveCancel onCancel={onClose} onSave={() => void submit()} busy={busy} testId="contact" />}
    >
      <form onSubmit={(e) => void submit(e)} noValidate>
        {error != null && (
          <div className="banner banner-error" role="alert" data-testid="contact-error">
            {errorText(error, t)}
          </div>
        )}
        <Field label={t('contacts.name')} htmlFor="contact-name" error={fieldError(fields, 'name')} testId="contact-name">
          <input id="contact-name" value={name} onChange={(e) => setName(e.target.value)} data-testid="contact-name" />
        </Field>
        <Field label={t('contacts.email')} htmlFor="contact-email" error={fieldError(fields, 'email')} testId="contact-email">
          <input id="contact-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} data-testid="contact-email" />
        </Field>
        <Field label={t('contacts.phone')} htmlFor="contact-phone" error={fieldError(fields, 'phone')} testId="contact-phone">
          <input id="contact-phone" type="tel" value={phone} onChange={(e) => setPhone(e.target.value)} data-testid="contact-phone" />
        </Field>
        <Field
          label={t('contacts.groups')}
          htmlFor="contact-groups"
          error={fieldError(fields, 'groups')}
          hint={t('job.commaSeparated')}
          testId="contact-groups"
        >
          <input id="contact-groups" value={groups} onChange={(e) => setGroups(e.target.value)} data-testid="contact-groups" />
        </Field>
        <Field label={t('contacts.language')} htmlFor="contact-language" hint={t('contacts.languageHint')} testId="contact-language">
          <select
            id="contact-language"
            value={language}
            onChange={(e) => setLanguage(e.target.value as '' | 'en' | 'zh')}
            data-testid="contact-language"
          >
            <option value="">{t('contacts.languageCluster')}</option>
            <option value="en">English</option>
            <option value="zh">中文</option>
          </select>
        </Field>
        <div className="field field-check">
          <label>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} data-testid="contact-enabled" />
            {t('contacts.enabled')}
          </label>
        </div>
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}
