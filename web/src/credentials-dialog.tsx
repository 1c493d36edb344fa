/**
 * Who am I: asked on the first visit and whenever the server answers 401. The server decides the
 * mode (dev: a user name sent as `X-User-Id`; jwt: a bearer token) and says which at
 * `GET /auth/config`: the dialog then asks for that one only. Until it is known (or if that
 * request failed) the person picks, and a 401 message that names one of them preselects it.
 */
import { type FormEvent, useState } from 'react';
import { type AuthMode, type Credentials, USER_ID_PATTERN } from './api.ts';
import type { Problem } from './problems.ts';

type Props = {
  current: Credentials | undefined;
  reason: Problem | undefined;
  /** The server's mode, once `GET /auth/config` has said it. */
  mode: AuthMode | undefined;
  onSave(credentials: Credentials): void;
  onCancel?: () => void;
};

export function CredentialsDialog({ current, reason, mode, onSave, onCancel }: Props) {
  const hinted = reason?.serverMessage?.includes('Bearer') && !reason.serverMessage.includes('X-User-Id');
  const [picked, setKind] = useState<Credentials['kind']>(hinted ? 'token' : (current?.kind ?? 'user'));
  // The server's word wins over a guess: the other kind could never work there.
  const required: Credentials['kind'] | undefined = mode && (mode === 'dev' ? 'user' : 'token');
  const kind = required ?? picked;
  const [userId, setUserId] = useState(current?.kind === 'user' ? current.userId : '');
  const [token, setToken] = useState(current?.kind === 'token' ? current.token : '');
  const [invalid, setInvalid] = useState<string>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (kind === 'user') {
      const name = userId.trim();
      if (!USER_ID_PATTERN.test(name)) {
        setInvalid('Use 1-128 letters, digits or . _ : @ | - (no spaces).');
        return;
      }
      onSave({ kind: 'user', userId: name });
    } else {
      const value = token.trim().replace(/^Bearer\s+/i, '');
      if (!value) {
        setInvalid('Paste the token.');
        return;
      }
      onSave({ kind: 'token', token: value });
    }
  };

  return (
    <div className="dialog-backdrop">
      <form className="dialog" onSubmit={submit} aria-labelledby="credentials-title">
        <h2 id="credentials-title">{reason ? 'Sign in again' : 'Who are you?'}</h2>
        {reason ? (
          <p className="problem-sentence">
            {reason.sentence}
            {reason.serverMessage ? (
              <span className="problem-detail"> Server said: {reason.serverMessage}</span>
            ) : null}
          </p>
        ) : (
          <p>Your tasks and conversations belong to you. Tell the server who you are.</p>
        )}
        {required ? null : (
          <fieldset className="segmented">
            <legend className="visually-hidden">How this server identifies you</legend>
            <label className={kind === 'user' ? 'on' : ''}>
              <input type="radio" name="kind" checked={kind === 'user'} onChange={() => setKind('user')} />
              User name (dev mode)
            </label>
            <label className={kind === 'token' ? 'on' : ''}>
              <input type="radio" name="kind" checked={kind === 'token'} onChange={() => setKind('token')} />
              Access token (JWT)
            </label>
          </fieldset>
        )}
        {kind === 'user' ? (
          <label className="field">
            <span>User name</span>
            <input
              // biome-ignore lint/a11y/noAutofocus: the dialog exists to ask this one thing
              autoFocus
              value={userId}
              onChange={(e) => {
                setUserId(e.target.value);
                setInvalid(undefined);
              }}
              placeholder="alice"
              autoComplete="username"
            />
          </label>
        ) : (
          <label className="field">
            <span>Bearer token</span>
            <textarea
              // biome-ignore lint/a11y/noAutofocus: the dialog exists to ask this one thing
              autoFocus
              value={token}
              onChange={(e) => {
                setToken(e.target.value);
                setInvalid(undefined);
              }}
              rows={3}
              placeholder="eyJhbGciOi…"
              spellCheck={false}
            />
          </label>
        )}
        {invalid ? <p className="field-error">{invalid}</p> : null}
        <p className="muted small">
          {kind === 'user'
            ? 'A dev-mode server trusts this name as is (sent as X-User-Id).'
            : 'Sent as Authorization: Bearer. Kept in this browser only.'}
        </p>
        <div className="dialog-actions">
          {onCancel ? (
            <button type="button" onClick={onCancel}>
              Cancel
            </button>
          ) : null}
          <button type="submit" className="primary">
            Continue
          </button>
        </div>
      </form>
    </div>
  );
}
