// The documentation is generated from the declarations, not written beside them: docs/measures.md
// must hold exactly what `transportlab-cli kinds` prints (every measure kind, key and default).
#include <QFile>
#include <QProcess>
#include <QtTest>

class TestDocs : public QObject {
    Q_OBJECT
private slots:
    void measureReferenceIsGenerated() {
        QProcess p;
        p.start(TL_CLI_PATH, {"kinds"});
        QVERIFY(p.waitForFinished(30000));
        QCOMPARE(p.exitCode(), 0);
        const QString generated = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY(generated.contains("| **gaussian** |"));

        QFile f(QStringLiteral(TL_SOURCE_DIR) + "/docs/measures.md");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString doc = QString::fromUtf8(f.readAll());
        const QString begin = "<!-- BEGIN GENERATED: transportlab-cli kinds -->\n", end = "<!-- END GENERATED -->";
        const int a = doc.indexOf(begin), b = doc.indexOf(end);
        QVERIFY2(a >= 0 && b > a, "docs/measures.md lost its generated-section markers");
        const QString section = doc.mid(a + begin.size(), b - a - begin.size());
        QVERIFY2(section == generated,
                 "docs/measures.md is out of date: regenerate the table with `transportlab-cli kinds`");
    }
};

QTEST_GUILESS_MAIN(TestDocs)
#include "tst_docs.moc"
