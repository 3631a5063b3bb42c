/* The page's data block, <script type="application/json" id="portaal-data"> (see
   src/page/data.rs): the script's texts in the page's language and the content types the portal
   knows. Pages without one (error pages, the landing page) get empty tables. */

function read() {
  const node = document.getElementById('portaal-data');
  if (!node) {
    return {};
  }
  try {
    return JSON.parse(node.textContent) || {};
  } catch (e) {
    return {};
  }
}

const data = read();

/** Texts by key; a value may hold slots such as {name}. */
export const texts = data.texts || {};

/** [{type, label, extensions: ['.pdf']}] */
export const types = Array.isArray(data.types) ? data.types : [];
