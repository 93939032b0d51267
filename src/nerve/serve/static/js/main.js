// Page switching by the URL's #fragment; each page starts the first time it is shown.
import { initDigits } from './digits.js';
import { initTrain } from './train.js';
import { initBackprop } from './backprop.js';
import { forward } from './forward.js';

const pages = { digits: initDigits, train: initTrain, backprop: initBackprop };
const started = {};
window.nerve = { forward };

function show() {
  const name = (location.hash || '#digits').slice(1);
  const page = pages[name] ? name : 'digits';
  for (const p of Object.keys(pages)) {
    document.getElementById(`page-${p}`).hidden = p !== page;
    document.querySelector(`nav a[data-page=${p}]`).classList.toggle('active', p === page);
  }
  if (!started[page]) {
    started[page] = true;
    pages[page]();
  }
}
window.addEventListener('hashchange', show);
show();
