// A report that cannot be shown says why on the page (and in the console), instead of a blank page.
export function showFatalError(error) {
  console.error(error);
  const box = document.createElement("div");
  box.className = "fatal-error";
  box.setAttribute("role", "alert");
  box.textContent = `This report cannot be displayed: ${error && error.message ? error.message : error}`;
  document.body.prepend(box);
}
