// The orders list's bulk bar: "select all" on the page, the count of ticked rows, and the
// moves offered: only statuses that the transition table allows from every ticked order
// (each row lists its own moves). The server checks each order again and reports refusals.
(function () {
  "use strict";
  const bar = document.querySelector("[data-bulk]");
  if (!bar) return;
  const boxes = Array.from(document.querySelectorAll("input[form=bulk][name=ids]"));
  const all = document.querySelector("[data-select-all]");
  const to = bar.querySelector("[data-bulk-to]");
  const move = bar.querySelector("[data-bulk-move]");
  const remove = bar.querySelector("[data-bulk-delete]");

  function refresh() {
    const ticked = boxes.filter((box) => box.checked);
    bar.querySelector("[data-selected-count]").textContent = String(ticked.length);
    let allowed = null;
    ticked.forEach(function (box) {
      const moves = new Set(box.dataset.moves.split(" ").filter(Boolean));
      allowed = allowed === null ? moves : new Set([...allowed].filter((m) => moves.has(m)));
    });
    Array.from(to.options).forEach(function (option) {
      option.disabled = option.hidden = allowed === null || !allowed.has(option.value);
    });
    const first = Array.from(to.options).find((option) => !option.disabled);
    if (first && to.selectedOptions[0] && to.selectedOptions[0].disabled) to.value = first.value;
    move.disabled = !first;
    remove.disabled = ticked.length === 0;
    if (all) all.checked = ticked.length > 0 && ticked.length === boxes.length;
  }
  boxes.forEach((box) => box.addEventListener("change", refresh));
  if (all) {
    all.addEventListener("change", function () {
      boxes.forEach((box) => { box.checked = all.checked; });
      refresh();
    });
  }
  refresh();
})();
