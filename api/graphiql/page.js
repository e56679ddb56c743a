(function () {
  'use strict';
  var h = React.createElement;
  var options = JSON.parse(document.getElementById('reach-graphiql-options').textContent);
  var STORAGE_KEY = 'reach.graphiql.bearerToken';

  function loadToken() {
    try { return window.localStorage.getItem(STORAGE_KEY) || ''; } catch (e) { return ''; }
  }
  function saveToken(token) {
    try {
      if (token) { window.localStorage.setItem(STORAGE_KEY, token); }
      else { window.localStorage.removeItem(STORAGE_KEY); }
    } catch (e) { /* storage unavailable: the token just is not remembered */ }
  }
  // Accept a pasted 'Bearer xyz' as well as a bare token.
  function bareToken(text) {
    return text.trim().replace(/^bearer\s+/i, '').trim();
  }

  // Whether the operation GraphiQL runs is a subscription (from the parsed document it passes).
  function isSubscription(params, opts) {
    var doc = opts && opts.documentAST;
    if (!doc || !doc.definitions) {
      var text = (params.query || '').replace(/#[^\n]*/g, '');
      return params.operationName
        ? new RegExp('\\bsubscription\\s+' + params.operationName + '\\b').test(text)
        : /^\s*subscription\b/.test(text);
    }
    var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = params.operationName
      ? ops.filter(function (d) { return d.name && d.name.value === params.operationName; })[0]
      : ops[0];
    return !!op && op.operation === 'subscription';
  }

  // A subscription over a websocket on the same endpoint (protocol graphql-transport-ws), as an
  // observable GraphiQL shows event by event; the token goes in connection_init.
  function subscribe(params, token) {
    return {
      subscribe: function (observer) {
        var url = new URL(options.endpoint, window.location.href);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        var socket = new WebSocket(url.toString(), 'graphql-transport-ws');
        var done = false;
        function finish() {
          if (!done) { done = true; observer.complete(); }
        }
        function send(message) { socket.send(JSON.stringify(message)); }
        socket.onopen = function () {
          send({ type: 'connection_init', payload: token ? { authorization: 'Bearer ' + token } : {} });
        };
        socket.onmessage = function (event) {
          var message = JSON.parse(event.data);
          if (message.type === 'connection_ack') {
            send({ id: '1', type: 'subscribe', payload: params });
            // Shown until the first event replaces it.
            observer.next({ data: null, extensions: { reach: 'subscribed — waiting for events ' +
              '(make a change in another browser tab: running another operation here stops this one)' } });
          } else if (message.type === 'ping') {
            send({ type: 'pong' });
          } else if (message.type === 'next') {
            observer.next(message.payload);
          } else if (message.type === 'error') {
            observer.next({ errors: message.payload });
          } else if (message.type === 'complete') {
            socket.close(1000);
            finish();
          }
        };
        socket.onclose = function (event) {
          if (!done && event.code !== 1000) {
            observer.next({ errors: [{ message: 'websocket closed: ' + event.code + ' ' + event.reason }] });
          }
          finish();
        };
        return {
          unsubscribe: function () {
            done = true;
            if (socket.readyState === WebSocket.OPEN) {
              send({ id: '1', type: 'complete' });
              socket.close(1000);
            } else if (socket.readyState === WebSocket.CONNECTING) {
              socket.onopen = function () { socket.close(1000); };
            }
          }
        };
      }
    };
  }

  // Used for queries and for GraphiQL's schema introspection alike. Headers typed into
  // GraphiQL's headers pane are sent too and win over the bar's token. Subscriptions go over a
  // websocket.
  // Demo walk-through: the ids a step creates, put where the next steps read them, so nothing
  // is copied by hand (the variables pane is the editor whose JSON has that key).
  var REMEMBERED = [
    ['myNumberId', function (d) { return d.userNumberCreate && d.userNumberCreate.userNumber; }],
    ['statusId', function (d) { return d.dynamicStatusCreate && d.dynamicStatusCreate.dynamicStatus; }]
  ];
  function remember(result) {
    var data = result && result.data;
    if (!data || !options.personas) { return result; }
    REMEMBERED.forEach(function (entry) {
      var created = entry[1](data);
      if (!created || !created.id) { return; }
      Array.prototype.forEach.call(document.querySelectorAll('.CodeMirror'), function (element) {
        var editor = element.CodeMirror;
        if (!editor) { return; }
        var variables;
        try { variables = JSON.parse(editor.getValue()); } catch (e) { return; }
        if (!variables || typeof variables !== 'object' || !(entry[0] in variables)) { return; }
        variables[entry[0]] = created.id;
        editor.setValue(JSON.stringify(variables, null, 2));
      });
    });
    return result;
  }

  var NO_TOKEN = 'No token yet: ' + (options.personas ? 'pick a persona above, or paste a token' : 'paste a token above') +
    ' (`reach serve --demo` and `reach token` print them). Every request needs one.';

  function makeFetcher(currentToken) {
    return function (params, opts) {
      // Without a token the server can only answer UNAUTHENTICATED: say what to do instead.
      if (!currentToken()) { return Promise.resolve({ errors: [{ message: NO_TOKEN }] }); }
      if (isSubscription(params, opts)) { return subscribe(params, currentToken()); }
      var headers = new Headers({
        'Content-Type': 'application/json',
        'Accept': 'application/graphql-response+json, application/json'
      });
      var token = currentToken();
      if (token) { headers.set('Authorization', 'Bearer ' + token); }
      var extra = (opts && opts.headers) || {};
      Object.keys(extra).forEach(function (name) { headers.set(name, String(extra[name])); });
      return fetch(options.endpoint, {
        method: 'POST',
        headers: headers,
        body: JSON.stringify(params),
        credentials: 'same-origin'
      }).then(function (response) {
        return response.text().then(function (text) {
          try { return remember(JSON.parse(text)); } catch (e) {
            return { errors: [{ message: 'HTTP ' + response.status + ' ' + response.statusText +
              (text ? ': ' + text.slice(0, 2000) : '') }] };
          }
        });
      });
    };
  }

  function App() {
    var tokenState = React.useState(loadToken);
    var token = tokenState[0], setToken = tokenState[1];
    var shownState = React.useState(false);
    var shown = shownState[0], setShown = shownState[1];
    var appliedState = React.useState(function () { return bareToken(token); });
    var applied = appliedState[0], setApplied = appliedState[1];

    // Requests always use the latest token ...
    var tokenRef = React.useRef('');
    tokenRef.current = bareToken(token);
    // ... and a changed token (after a short pause in typing) gives GraphiQL a new fetcher,
    // which makes it fetch the schema again with the new credentials.
    React.useEffect(function () {
      saveToken(token);
      var timer = window.setTimeout(function () { setApplied(bareToken(token)); }, 400);
      return function () { window.clearTimeout(timer); };
    }, [token]);
    var fetcher = React.useMemo(function () {
      return makeFetcher(function () { return tokenRef.current; });
    }, [applied]);

    // Demo mode: the persona whose token is set, if any.
    var personas = options.personas || [];
    var persona = personas.filter(function (p) { return p.token === bareToken(token); })[0];

    var graphiqlProps = { fetcher: fetcher };
    if (typeof options.query === 'string') {
      graphiqlProps.query = options.query;
      if (typeof options.variables === 'string') { graphiqlProps.variables = options.variables; }
    }

    return h('div', { className: 'reach-shell' },
      h('form', {
        className: 'reach-bar',
        autoComplete: 'off',
        onSubmit: function (event) { event.preventDefault(); }
      },
        h('label', { htmlFor: 'reach-token' }, 'Bearer token'),
        h('input', {
          id: 'reach-token',
          name: 'reach-token',
          type: shown ? 'text' : 'password',
          value: token,
          autoComplete: 'off',
          spellCheck: false,
          placeholder: 'paste token here',
          onChange: function (event) { setToken(event.target.value); }
        }),
        h('button', {
          type: 'button',
          'aria-pressed': shown,
          onClick: function () { setShown(!shown); }
        }, shown ? 'Hide' : 'Show'),
        h('button', {
          type: 'button',
          disabled: !token,
          onClick: function () { setToken(''); setShown(false); }
        }, 'Clear'),
        personas.length ? h('select', {
          id: 'reach-persona',
          'aria-label': 'Demo persona',
          value: persona ? persona.token : '',
          onChange: function (event) { setToken(event.target.value); setShown(false); }
        },
          h('option', { value: '' }, 'Pick a demo persona…'),
          personas.map(function (p) { return h('option', { key: p.token, value: p.token }, p.who); })
        ) : null,
        persona ? h('span', { id: 'reach-who', className: 'reach-hint' }, 'You are ', h('strong', null, persona.who)) :
          token ? null : h('span', { className: 'reach-hint' },
            personas.length ? 'Pick a persona, or paste a token' : 'Paste a token printed by ',
            personas.length ? null : h('code', null, 'reach serve --demo'),
            personas.length ? null : ' or ', personas.length ? null : h('code', null, 'reach token'))
      ),
      h('div', { className: 'reach-graphiql' }, h(GraphiQL, graphiqlProps))
    );
  }

  ReactDOM.createRoot(document.getElementById('reach-root')).render(h(App));
})();
