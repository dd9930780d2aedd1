// A floating box that follows the pointer and stays inside the window.
export class Tooltip {
  constructor(parent) {
    this.box = document.createElement("div");
    this.box.className = "tooltip";
    this.box.hidden = true;
    parent.append(this.box);
  }

  show(x, y, content) {
    this.box.replaceChildren(...content.filter(Boolean));
    this.box.hidden = false;
    const margin = 14;
    const { width, height } = this.box.getBoundingClientRect();
    const left = x + margin + width > window.innerWidth ? Math.max(0, x - margin - width) : x + margin;
    const top = y + margin + height > window.innerHeight ? Math.max(0, y - margin - height) : y + margin;
    this.box.style.left = left + "px";
    this.box.style.top = top + "px";
  }

  hide() {
    this.box.hidden = true;
  }
}
