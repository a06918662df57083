// A seeded GUI monkey (issue 18 §5): random clicks, right clicks, double clicks, drags, wheel turns,
// keys and typing on every visible widget of the app's window: the Scenario dock's forms, the menus
// (never Quit), the timeline slider, the views, and whatever dialog or popup they open. It drives the
// real CompareWindow on the default scenario (resources/scenarios/default.json) with real Qt events
// (QTest), from a timer, so it keeps going inside the nested event loops of modal dialogs and menus.
// Passes when the process survives (no death by signal, no assertion) and its peak RSS stays below
// 2 GB. On a crash a signal handler prints the seed and the last 40 events to stderr.
//
// Environment: TL_MONKEY_SEEDS (default "1 2"), TL_MONKEY_SECONDS (per seed, default 15; CI runs the
// default, 30 s in all, beside the 60 s of the X-level monkey_x11.py), TL_MONKEY_RATE (events per second, default 20). Reproduce a failure with the
// seed it printed: TL_MONKEY_SEEDS=N TL_MONKEY_SECONDS=S build/tests/tst_monkey.
#include <QAbstractButton>
#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QPointer>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QWheelEvent>
#include <QtTest>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>

#include "engine/scenario.h"
#include "vtk/vtk_view_widget.h"
#include "widgets/compare_window.h"

namespace {

// The last events, for the crash report (written by a signal handler: fixed buffers, write(2) only).
constexpr int kRing = 40;
char g_ring[kRing][160];
int g_next = 0;
int g_seed = 0;

void note(const QString& what) {
    const QByteArray b = what.toUtf8();
    std::snprintf(g_ring[g_next % kRing], sizeof g_ring[0], "%s", b.constData());
    ++g_next;
}

void onFatal(int sig) {
    char head[96];
    const int n = std::snprintf(head, sizeof head, "\nmonkey: signal %d with seed %d; the last events:\n", sig, g_seed);
    if (n > 0) (void)!write(2, head, static_cast<std::size_t>(n));
    for (int k = std::max(0, g_next - kRing); k < g_next; ++k) {
        const char* line = g_ring[k % kRing];
        (void)!write(2, "  ", 2);
        (void)!write(2, line, std::strlen(line));
        (void)!write(2, "\n", 1);
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

bool isQuit(const QAction* a) {
    const QString t = a->text().remove('&').toLower();
    return t.startsWith("quit") || t.startsWith("exit") || t.startsWith("close");
}

class Monkey {
public:
    Monkey(QWidget* window, unsigned seed) : window_(window), rng_(seed) {}

    void step() {
        ++steps_;
        QWidget* top = QApplication::activePopupWidget();
        if (!top) top = QApplication::activeModalWidget();
        if (!top) top = window_;
        // A dialog or popup is closed now and then, so that the monkey spends its time in the window.
        if (top != window_ && chance(0.15)) {
            note(QString("Escape on %1").arg(describe(top)));
            QTest::keyClick(top, Qt::Key_Escape);
            return;
        }
        if (auto* menu = qobject_cast<QMenu*>(top)) return clickMenu(menu);
        QWidget* w = pickWidget(top);
        if (!w) return;
        const double r = uniform();
        if (r < 0.35) click(w, chance(0.15) ? Qt::RightButton : Qt::LeftButton, chance(0.1));
        else if (r < 0.50) drag(w);
        else if (r < 0.62) wheel(w);
        else if (r < 0.82) key(w);
        else type(w);
    }
    int steps() const { return steps_; }

private:
    double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
    bool chance(double p) { return uniform() < p; }
    int below(int n) { return n <= 1 ? 0 : std::uniform_int_distribution<int>(0, n - 1)(rng_); }
    QPoint somewhere(QWidget* w) { return QPoint(below(std::max(1, w->width())), below(std::max(1, w->height()))); }

    static QString describe(QWidget* w) {
        return QString("%1 '%2'").arg(w->metaObject()->className(), w->objectName().isEmpty() ? w->accessibleName() : w->objectName());
    }

    // A visible, enabled widget under `top` (top itself included), buttons and editors more often than
    // plain containers; the Quit item is never reachable (menus are handled by clickMenu).
    QWidget* pickWidget(QWidget* top) {
        QList<QWidget*> all = top->findChildren<QWidget*>();
        all.prepend(top);
        QList<QWidget*> leaves, any;
        for (QWidget* w : all) {
            if (!w->isVisible() || !w->isEnabled() || w->width() < 2 || w->height() < 2) continue;
            if (w->window() != top->window()) continue;
            any.push_back(w);
            if (qobject_cast<QAbstractButton*>(w) || qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w) ||
                qobject_cast<QLineEdit*>(w) || qobject_cast<QAbstractSlider*>(w) || qobject_cast<QMenuBar*>(w) ||
                qobject_cast<tl::ui::VtkViewWidget*>(w))
                leaves.push_back(w);
        }
        if (leaves.isEmpty() && any.isEmpty()) return nullptr;
        const QList<QWidget*>& from = (!leaves.isEmpty() && chance(0.8)) ? leaves : any;
        return from.at(below(static_cast<int>(from.size())));
    }

    void clickMenu(QMenu* menu) {
        QList<QAction*> ok;
        for (QAction* a : menu->actions())
            if (a->isVisible() && !a->isSeparator() && !isQuit(a) && !menu->actionGeometry(a).isEmpty()) ok.push_back(a);
        if (ok.isEmpty()) {
            QTest::keyClick(menu, Qt::Key_Escape);
            return;
        }
        QAction* a = ok.at(below(static_cast<int>(ok.size())));
        note(QString("menu item '%1'").arg(a->text()));
        QTest::mouseClick(menu, Qt::LeftButton, Qt::NoModifier, menu->actionGeometry(a).center());
    }

    void click(QWidget* w, Qt::MouseButton b, bool twice) {
        const QPoint p = somewhere(w);
        note(QString("%1 %2 at %3,%4 on %5").arg(twice ? "double click" : "click").arg(b == Qt::RightButton ? "right" : "left").arg(p.x()).arg(p.y()).arg(describe(w)));
        if (twice) QTest::mouseDClick(w, b, Qt::NoModifier, p);
        else QTest::mouseClick(w, b, Qt::NoModifier, p);
    }

    void drag(QWidget* w) {
        QPoint p = somewhere(w);
        note(QString("drag from %1,%2 on %3").arg(p.x()).arg(p.y()).arg(describe(w)));
        QPointer<QWidget> guard(w);
        QTest::mousePress(w, Qt::LeftButton, Qt::NoModifier, p);
        for (int k = 0; k < 6 && guard; ++k) {
            p = somewhere(w);
            QMouseEvent move(QEvent::MouseMove, QPointF(p), QPointF(w->mapToGlobal(p)), Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
            QApplication::sendEvent(w, &move);
            QApplication::processEvents();
        }
        if (guard) QTest::mouseRelease(w, Qt::LeftButton, Qt::NoModifier, p);
    }

    void wheel(QWidget* w) {
        const QPoint p = somewhere(w);
        const int delta = (chance(0.5) ? 1 : -1) * 120 * (1 + below(3));
        note(QString("wheel %1 at %2,%3 on %4").arg(delta).arg(p.x()).arg(p.y()).arg(describe(w)));
        QWheelEvent e(QPointF(p), QPointF(w->mapToGlobal(p)), QPoint(), QPoint(0, delta), Qt::NoButton, Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(w, &e);
    }

    void key(QWidget* w) {
        struct K {
            Qt::Key key;
            Qt::KeyboardModifiers mods;
        };
        static const K keys[] = {
            {Qt::Key_Tab, Qt::NoModifier},     {Qt::Key_Backtab, Qt::ShiftModifier}, {Qt::Key_Return, Qt::NoModifier},
            {Qt::Key_Escape, Qt::NoModifier},  {Qt::Key_Up, Qt::NoModifier},        {Qt::Key_Down, Qt::NoModifier},
            {Qt::Key_Left, Qt::NoModifier},    {Qt::Key_Right, Qt::NoModifier},     {Qt::Key_PageUp, Qt::NoModifier},
            {Qt::Key_Home, Qt::NoModifier},    {Qt::Key_End, Qt::NoModifier},       {Qt::Key_Space, Qt::NoModifier},
            {Qt::Key_Delete, Qt::NoModifier},  {Qt::Key_Backspace, Qt::NoModifier}, {Qt::Key_Z, Qt::ControlModifier},
            {Qt::Key_Y, Qt::ControlModifier},  {Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier},
            {Qt::Key_A, Qt::ControlModifier},  {Qt::Key_F1, Qt::NoModifier},        {Qt::Key_Plus, Qt::NoModifier},
            {Qt::Key_Minus, Qt::NoModifier},   {Qt::Key_1, Qt::NoModifier},         {Qt::Key_R, Qt::NoModifier},
        };
        const K& k = keys[below(static_cast<int>(std::size(keys)))];
        QWidget* target = QApplication::focusWidget() && chance(0.7) ? QApplication::focusWidget() : w;
        note(QString("key %1 (mods %2) on %3").arg(QKeySequence(k.key).toString()).arg(int(k.mods)).arg(describe(target)));
        QTest::keyClick(target, k.key, k.mods);
    }

    void type(QWidget* w) {
        static const char* words[] = {"0", "1", "2.5", "-3", "1e9", "nan", "abc", "5000", "0.001", "gaussian:n=100", "moons", "", " "};
        QWidget* target = QApplication::focusWidget() ? QApplication::focusWidget() : w;
        const char* text = words[below(static_cast<int>(std::size(words)))];
        note(QString("type '%1' into %2").arg(text, describe(target)));
        QTest::keyClicks(target, text);
        if (chance(0.5)) QTest::keyClick(target, Qt::Key_Return);
    }

    QPointer<QWidget> window_;
    std::mt19937 rng_;
    int steps_ = 0;
};

long peakRssMb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

}  // namespace

class TestMonkey : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);  // settings and recent files away from the user's
        QVERIFY(dir_.isValid());
        QDir::setCurrent(dir_.path());  // whatever a dialog writes lands here
        for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, onFatal);
    }

    void monkey() {
        const QStringList seeds = qEnvironmentVariable("TL_MONKEY_SEEDS", "1 2").split(' ', Qt::SkipEmptyParts);
        const double seconds = qEnvironmentVariable("TL_MONKEY_SECONDS", "15").toDouble();
        const double rate = qEnvironmentVariable("TL_MONKEY_RATE", "20").toDouble();
        QVERIFY(!seeds.isEmpty() && seconds > 0 && rate > 0);
        for (const QString& s : seeds) {
            g_seed = s.toInt();
            g_next = 0;
            qInfo("monkey: seed %d for %.0f s at %.0f events/s", g_seed, seconds, rate);
            const tl::Scenario sc = tl::loadScenario(TL_SOURCE_DIR "/resources/scenarios/default.json");
            auto* w = new tl::ui::CompareWindow(sc);
            w->resize(1440, 900);
            w->show();
            QVERIFY(QTest::qWaitForWindowExposed(w));
            Monkey m(w, static_cast<unsigned>(g_seed));
            // Each step first schedules the next one on a new single-shot timer: Qt never fires a
            // timer inside its own slot, so one repeating timer would starve in the nested event loop
            // of a dialog that a step opened. When the time is up, the steps close dialogs and popups
            // (Escape, then close) until only the window is left.
            QElapsedTimer clock;
            clock.start();
            bool finished = false;
            const int interval = std::max(1, static_cast<int>(1000 / rate));
            std::function<void()> tick = [&] {
                if (finished) return;
                QTimer::singleShot(interval, w, tick);
                if (clock.elapsed() < seconds * 1000) return m.step();
                QWidget* top = QApplication::activePopupWidget();
                if (!top) top = QApplication::activeModalWidget();
                if (!top) {
                    finished = true;
                    return;
                }
                QTest::keyClick(top, Qt::Key_Escape);
                if (QPointer<QWidget> t(top); t && t->isVisible()) t->close();
            };
            QTimer::singleShot(interval, w, tick);
            QVERIFY2(QTest::qWaitFor([&] { return finished; }, static_cast<int>(seconds * 1000) + 60000),
                     "the window's dialogs did not close within 60 s of the end");
            qInfo("monkey: seed %d survived %d events; peak RSS %ld MB", g_seed, m.steps(), peakRssMb());
            QVERIFY2(m.steps() > seconds * rate / 4, "the monkey was starved (a dialog's nested loop without timers?)");
            delete w;
            QTest::qWait(50);
        }
        QVERIFY2(peakRssMb() < 2048, qPrintable(QString("peak RSS %1 MB").arg(peakRssMb())));
    }

private:
    QTemporaryDir dir_;
};

int main(int argc, char** argv) {
    tl::ui::VtkViewWidget::setDefaultSurfaceFormat();
    QApplication app(argc, argv);
    TestMonkey t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_monkey.moc"
