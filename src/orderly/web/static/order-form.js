// The phone-order form: line totals, subtotal and total as you type, in the currency's
// places, and lines added or removed in place. The server computes the same total again
// (money is never trusted to the browser); this is only what the person sees meanwhile.
(function () {
  "use strict";
  const form = document.querySelector("[data-order-form]");
  if (!form) return;
  const lines = form.querySelector("[data-lines]");

  // Exact decimal arithmetic on strings, in units of 10^-places (no binary floats).
  function units(text, places) {
    const match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(text || "0");
    if (!match) return null;
    const whole = match[1] || "0";
    const fraction = (match[2] || "").padEnd(places, "0");
    if (fraction.length > places) return null;
    return BigInt(whole) * 10n ** BigInt(places) + BigInt(fraction || "0");
  }
  function show(value, places) {
    if (value === null) return "—";
    const negative = value < 0n;
    const digits = (negative ? -value : value).toString().padStart(places + 1, "0");
    const text = places ? digits.slice(0, -places) + "." + digits.slice(-places) : digits;
    return (negative ? "-" : "") + text;
  }
  function places() {
    const option = form.querySelector("[data-currency]").selectedOptions[0];
    return Number(option.dataset.places);
  }
  function recompute() {
    const p = places();
    let subtotal = 0n;
    let valid = true;
    lines.querySelectorAll("[data-line]").forEach(function (row) {
      const quantity = row.querySelector("input[name$='-quantity']");
      const price = row.querySelector("input[name$='-price']");
      const q = units(quantity.value, 0);
      const unit = units(price.value, p);
      const total = q === null || unit === null ? null : q * unit;
      row.querySelector("[data-line-total]").textContent = quantity.value || price.value ? show(total, p) : "";
      if (total === null) valid = false; else subtotal += total;
    });
    const extra = ["delivery_fee", "tax"].map((name) => units(form.elements[name].value, p));
    const discount = units(form.elements.discount.value, p);
    const total = !valid || extra.includes(null) || discount === null
      ? null
      : subtotal + extra[0] + extra[1] - discount;
    form.querySelector("[data-subtotal]").textContent = valid ? show(subtotal, p) : "—";
    form.querySelector("[data-total]").textContent = show(total, p);
  }
  function renumber() {
    lines.querySelectorAll("[data-line]").forEach(function (row, index) {
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/^lines-\d+-/, "lines-" + index + "-");
      });
    });
  }
  form.addEventListener("input", recompute);
  form.addEventListener("change", recompute);
  form.querySelector("[data-add-line]").addEventListener("click", function () {
    const row = lines.querySelector("[data-line]").cloneNode(true);
    row.querySelectorAll("input").forEach((input) => { input.value = ""; });
    row.querySelectorAll(".field-error").forEach((error) => error.remove());
    lines.appendChild(row);
    renumber();
    recompute();
  });
  lines.addEventListener("click", function (event) {
    const button = event.target.closest("[data-remove-line]");
    if (!button || lines.querySelectorAll("[data-line]").length === 1) return;
    button.closest("[data-line]").remove();
    renumber();
    recompute();
  });
  recompute();
})();
