import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';

interface Note {
  id: number;
  text: string;
  kind: 'ok' | 'error';
}
type Notify = (text: string, kind?: Note['kind']) => void;

const NotifyContext = createContext<Notify>(() => {});

/** Short confirmations ("Job saved") at the bottom right; they go away by themselves. */
export function NotifyProvider({ children }: { children: ReactNode }) {
  const [notes, setNotes] = useState<Note[]>([]);
  const next = useRef(1);
  const notify = useCallback<Notify>((text, kind = 'ok') => {
    const id = next.current++;
    setNotes((n) => [...n.slice(-3), { id, text, kind }]);
    setTimeout(() => setNotes((n) => n.filter((x) => x.id !== id)), kind === 'error' ? 8000 : 4000);
  }, []);
  return (
    <NotifyContext.Provider value={notify}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {notes.map((n) => (
          <div key={n.id} className={`toast toast-${n.kind}`} data-testid="toast">
            {n.text}
          </div>
        ))}
      </div>
    </NotifyContext.Provider>
  );
}

export function useNotify(): Notify {
  return useContext(NotifyContext);
}
