// The iflowd monitor's only script. Pages work without it; it adds:
//  - the live list: the newest page's #live part is fetched again every two seconds and
//    swapped in when it changed (the server answers 304 while it has not);
//  - copy buttons (data-copy names the element whose text is copied);
//  - choosing "From – to" when a from/to time is entered.
// The HTML it swaps in comes from iflowd, which escapes every value; the Content-Security-Policy
// would not run a script in it anyway.
(function () {
  'use strict';

  var POLL_MS = 2000;

  function poll(live) {
    var etag = live.getAttribute('data-etag');
    var again = function () { window.setTimeout(function () { poll(live); }, POLL_MS); };
    var headers = etag ? { 'If-None-Match': etag } : {};
    window.fetch(live.getAttribute('data-src'), {
      headers: headers, credentials: 'same-origin', cache: 'no-store'
    }).then(function (response) {
      if (response.status === 401) {
        // The session ended: the reload goes to the login form.
        window.location.reload();
        return null;
      }
      if (response.status !== 200) { return null; }
      var next = response.headers.get('ETag');
      return response.text().then(function (html) {
        live.innerHTML = html;
        if (next) { live.setAttribute('data-etag', next); }
      });
    }).catch(function () { /* offline for a moment: try again */ }).then(again);
  }

  function start() {
    var live = document.getElementById('live');
    if (live && live.getAttribute('data-src')) {
      window.setTimeout(function () { poll(live); }, POLL_MS);
    }

    document.addEventListener('click', function (event) {
      var button = event.target.closest ? event.target.closest('[data-copy]') : null;
      if (!button) { return; }
      var source = document.getElementById(button.getAttribute('data-copy'));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = 'Copied';
        window.setTimeout(function () { button.textContent = 'Copy'; }, 1500);
      });
    });

    var period = document.querySelector('form.filters select[name=period]');
    document.querySelectorAll('form.filters input[type=datetime-local]').forEach(function (input) {
      input.addEventListener('change', function () {
        if (period && input.value) { period.value = 'custom'; }
      });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
