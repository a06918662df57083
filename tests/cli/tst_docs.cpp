// The documentation is generated from the declarations, not written beside them: docs/measures.md
// and docs/scenarios.md hold exactly what `transportlab-cli kinds` / `scenario-reference` print.
#include <QFile>
#include <QProcess>
#include <QtTest>

class TestDocs : public QObject {
    Q_OBJECT
private slots:
    void referencesAreGenerated_data() {
        QTest::addColumn<QString>("command");
        QTest::addColumn<QString>("page");
        QTest::addColumn<QString>("probe");
        QTest::newRow("measures") << "kinds" << "docs/measures.md" << "| **gaussian** |";
        QTest::newRow("scenarios") << "scenario-reference" << "docs/scenarios.md" << "### `flow-matching`";
    }
    void referencesAreGenerated() {
        QFETCH(QString, command);
        QFETCH(QString, page);
        QFETCH(QString, probe);
        QProcess p;
        p.start(TL_CLI_PATH, {command});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        const QString generated = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY(generated.contains(probe));

        QFile f(QStringLiteral(TL_SOURCE_DIR) + "/" + page);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString doc = QString::fromUtf8(f.readAll());
        const QString begin = "<!-- BEGIN GENERATED: transportlab-cli " + command + " -->\n", end = "<!-- END GENERATED -->";
        const int a = doc.indexOf(begin), b = doc.indexOf(end);
        QVERIFY2(a >= 0 && b > a, qPrintable(page + " lost its generated-section markers"));
        const QString section = doc.mid(a + begin.size(), b - a - begin.size());
        QVERIFY2(section == generated, qPrintable(page + " is out of date: regenerate it with `transportlab-cli " + command + "`"));
    }
};

QTEST_GUILESS_MAIN(TestDocs)
#include "tst_docs.moc"
