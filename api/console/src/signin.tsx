// Sign in: paste a token, or in demo mode pick one of the demo's personas.
import { useState } from 'preact/hooks';
import { options } from './api';

export function SignIn({ onToken }: { onToken: (token: string) => void }) {
  const personas = options().personas;
  const [token, setToken] = useState('');
  const [persona, setPersona] = useState(personas[0]?.token ?? '');

  return (
    <div class="signin">
      {personas.length > 0 && (
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            if (persona) onToken(persona);
          }}
        >
          <h2>Demo personas</h2>
          <label for="persona">Sign in as</label>
          <select id="persona" value={persona} onChange={(e) => setPersona(e.currentTarget.value)}>
            {personas.map((p) => (
              <option key={p.token} value={p.token}>
                {p.who}
              </option>
            ))}
          </select>
          <button type="submit">Sign in as this persona</button>
        </form>
      )}
      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          const value = token.trim();
          if (value) onToken(value);
        }}
      >
        <h2>Token</h2>
        <label for="token">Paste a bearer token (from `reach token` or your administrator)</label>
        <textarea id="token" rows={4} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit" disabled={!token.trim()}>
          Sign in
        </button>
      </form>
    </div>
  );
}
