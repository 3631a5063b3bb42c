/* Choosing files: the button opens the (visually hidden) file input; files can also be dropped
   on the drop zone. */

function hasFiles(ev) {
  const types = ev.dataTransfer && ev.dataTransfer.types;
  return !!types && Array.prototype.indexOf.call(types, 'Files') !== -1;
}

function wireDropZone(drop, add) {
  let depth = 0;
  drop.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) {
      return;
    }
    ev.preventDefault();
    depth += 1;
    drop.classList.add('is-dragover');
  });
  drop.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) {
      return;
    }
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  drop.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) {
      drop.classList.remove('is-dragover');
    }
  });
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    depth = 0;
    drop.classList.remove('is-dragover');
    if (ev.dataTransfer && ev.dataTransfer.files) {
      add(ev.dataTransfer.files);
    }
  });
}

// A file dropped next to the zone must not make the browser leave the page.
function guardPage(drop) {
  document.addEventListener('dragover', (ev) => {
    if (hasFiles(ev) && !drop.contains(ev.target)) {
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'none';
    }
  });
  document.addEventListener('drop', (ev) => {
    if (hasFiles(ev) && !drop.contains(ev.target)) {
      ev.preventDefault();
    }
  });
}

/** Calls `add(files)` with the files chosen or dropped. */
export function wirePicker(ui, add) {
  ui.pick.addEventListener('click', () => {
    ui.input.click();
  });
  ui.input.addEventListener('change', () => {
    add(ui.input.files);
    ui.input.value = '';
  });
  if (ui.drop) {
    wireDropZone(ui.drop, add);
    guardPage(ui.drop);
  }
}
