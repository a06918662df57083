// A deliberate data race, built only in the ThreadSanitizer build (scripts/tsan.sh): the TSan step
// must report it under the same suppressions that silence Qt's uninstrumented internals, which
// proves the suppressions do not hide races in our code. Never part of the normal suite.
#include <QTest>

#include <thread>

class TestTsanCanary : public QObject {
    Q_OBJECT
private slots:
    void unsynchronisedCounter() {
        // volatile: the compiler keeps both threads' loads and stores, so TSan sees them.
        static volatile long counter = 0;
        auto bump = [] {
            for (int i = 0; i < 1000; ++i) counter = counter + 1;
        };
        std::thread a(bump), b(bump);
        a.join();
        b.join();
        QVERIFY(counter > 0);
    }
};

QTEST_GUILESS_MAIN(TestTsanCanary)
#include "tst_tsan_canary.moc"
