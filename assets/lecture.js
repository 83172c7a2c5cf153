// Storylines: the arrow keys step through a lecture (they follow its previous / next links).
document.addEventListener('keydown', function (event) {
    const target = event.target;
    if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.isContentEditable)) {
        return;
    }
    const id = event.key === 'ArrowRight' ? 'lecture-next' : event.key === 'ArrowLeft' ? 'lecture-prev' : null;
    const link = id && document.getElementById(id);
    if (link && link.tagName === 'A') {
        event.preventDefault();
        link.click();
    }
});
