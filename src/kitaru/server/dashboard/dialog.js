// A confirmation in a modal <dialog>: keyboard first (focus on "Keep", Escape cancels).

import { h } from "./dom.js";
import { uid } from "./jsoneditor.js";

/**
 * Ask to confirm an action. Resolves `true` when confirmed, `false` when cancelled
 * (the "Keep" button, Escape, or the dialog closed otherwise). Focus returns to the element
 * that had it.
 * Options: `title`, `body` (text or nodes), `confirmLabel`, `cancelLabel`, `danger`.
 */
export function confirmAction({ title, body, confirmLabel, cancelLabel = "Keep it", danger = false }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const bodyId = uid("dialog-body");
    const before = document.activeElement;
    const cancel = h("button", { type: "button", class: "secondary", value: "cancel" }, cancelLabel);
    const confirm = h("button", { type: "submit", class: danger ? "danger" : "", value: "confirm" }, confirmLabel);
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": titleId, "aria-describedby": bodyId },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: titleId }, title),
        h("div", { id: bodyId }, body),
        h("div", { class: "dialog-buttons" }, cancel, confirm),
      ),
    );
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      dialog.remove();
      if (before && typeof before.focus === "function" && before.isConnected) before.focus();
      resolve(confirmed);
    });
    document.body.append(dialog);
    dialog.returnValue = "";
    dialog.showModal();
    cancel.focus(); // the safe choice has the focus: Enter does not confirm by accident
  });
}
