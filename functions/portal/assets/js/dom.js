/* Small DOM helpers. */

/** A new element with attributes (`className` sets the class) and text. */
export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach((k) => {
      if (k === 'className') {
        node.className = attrs[k];
      } else {
        node.setAttribute(k, attrs[k]);
      }
    });
  }
  if (text !== undefined && text !== null) {
    node.textContent = text;
  }
  return node;
}

/** Takes `node` out of the document, if it is in it. */
export function detach(node) {
  if (node && node.parentNode) {
    node.parentNode.removeChild(node);
  }
}
