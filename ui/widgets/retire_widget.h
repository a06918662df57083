// Removing a widget that may be inside one of its own event handlers (a field's editingFinished is
// emitted from its focusOutEvent; a combo box's signal from its key or mouse handler): deleting it
// there returned into a destroyed object (issue 18, the monkey's SIGSEGV in QWidget::focusOutEvent).
// retireWidget silences it and its children (their signals would name state that is gone), moves the
// focus out of it, hides it and lets the event loop delete it. The caller takes it out of its layout.
#pragma once
#include <QApplication>
#include <QWidget>

namespace tl::ui {

inline void retireWidget(QWidget* w) {
    w->blockSignals(true);
    for (QObject* o : w->findChildren<QObject*>()) o->blockSignals(true);
    QWidget* focus = QApplication::focusWidget();
    if (focus && (focus == w || w->isAncestorOf(focus))) focus->clearFocus();
    w->hide();
    w->deleteLater();
}

}  // namespace tl::ui
