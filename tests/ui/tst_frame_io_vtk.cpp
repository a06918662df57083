// Reads core's VTK XML PolyData (tl::frameVtp, tl::exportFrameData) back with VTK's own
// vtkXMLPolyDataReader, the reader ParaView uses: point count, vertex cells, coordinates (z = 0 in
// 2-D) and the weight / velocity / speed point arrays must come back as written. No display needed.
#include "engine/frame_io.h"
#include "engine/scenario.h"
#include "util/files.h"
#include "util/rng.h"

#include <QtTest>

#include <QTemporaryDir>

#include <vtkCellArray.h>
#include <vtkDataArray.h>
#include <vtkFieldData.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>
#include <vtkXMLPolyDataReader.h>

#include <cmath>
#include <memory>

namespace {

std::shared_ptr<tl::Frame> makeFrame(int n, int dim, bool velocities, double t, std::uint64_t seed) {
    tl::Rng rng(seed);
    auto f = std::make_shared<tl::Frame>();
    f->t = t;
    f->dim = dim;
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < dim; ++k) f->positions.push_back(rng.normal());
        f->weights.push_back(1.0 / n);
        if (velocities)
            for (int k = 0; k < dim; ++k) f->velocities.push_back(rng.normal());
    }
    return f;
}

}  // namespace

class TestFrameIoVtk : public QObject {
    Q_OBJECT

private slots:
    void readBack_data() {
        QTest::addColumn<int>("dim");
        QTest::addColumn<bool>("velocities");
        QTest::newRow("2-D with velocities") << 2 << true;
        QTest::newRow("3-D without velocities") << 3 << false;
    }
    void readBack() {
        QFETCH(int, dim);
        QFETCH(bool, velocities);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const int n = 333;
        const auto f = makeFrame(n, dim, velocities, 0.625, 11 + dim);
        const std::string path = (tmp.path() + "/frame.vtp").toStdString();
        tl::writeFileAtomic(path, tl::frameVtp(*f));

        vtkNew<vtkXMLPolyDataReader> reader;
        QVERIFY(reader->CanReadFile(path.c_str()));
        reader->SetFileName(path.c_str());
        reader->Update();
        QCOMPARE(reader->GetErrorCode(), 0ul);
        vtkPolyData* pd = reader->GetOutput();
        QVERIFY(pd);
        QCOMPARE(pd->GetNumberOfPoints(), vtkIdType(n));
        QCOMPARE(pd->GetNumberOfVerts(), vtkIdType(n));
        QCOMPARE(pd->GetNumberOfPolys(), vtkIdType(0));
        for (int i = 0; i < n; i += 17) {
            double p[3];
            pd->GetPoint(i, p);
            for (int k = 0; k < 3; ++k) QCOMPARE(p[k], k < dim ? f->positions[i * dim + k] : 0.0);
        }
        vtkDataArray* w = pd->GetPointData()->GetArray("weight");
        QVERIFY(w);
        QCOMPARE(w->GetNumberOfTuples(), vtkIdType(n));
        QCOMPARE(w->GetTuple1(5), 1.0 / n);
        vtkDataArray* v = pd->GetPointData()->GetArray("velocity");
        vtkDataArray* s = pd->GetPointData()->GetArray("speed");
        QCOMPARE(v != nullptr, velocities);
        QCOMPARE(s != nullptr, velocities);
        if (velocities) {
            QCOMPARE(v->GetNumberOfComponents(), 3);
            QCOMPARE(pd->GetPointData()->GetVectors(), v);
            for (int i = 0; i < n; i += 17) {
                const double* t = v->GetTuple3(i);
                QCOMPARE(t[0], f->velocities[i * dim]);
                QCOMPARE(t[1], f->velocities[i * dim + 1]);
                QCOMPARE(t[2], 0.0);
                QVERIFY(std::abs(s->GetTuple1(i) - std::hypot(f->velocities[i * dim], f->velocities[i * dim + 1])) < 1e-14);
            }
        }
        vtkDataArray* tv = pd->GetFieldData()->GetArray("TimeValue");
        QVERIFY(tv);
        QCOMPARE(tv->GetTuple1(0), 0.625);
    }

    // Every .vtp of an exported run opens in VTK with the frame's point count.
    void exportedRunOpens() {
        QTemporaryDir tmp;
        tl::Scenario sc;
        sc.source = "gaussian:n=20";
        sc.target = "moons:n=20";
        sc.panels.push_back(tl::PanelSpec{"ot-displacement", "", {}});
        std::vector<std::vector<tl::FramePtr>> run(1);
        for (int k = 0; k < 3; ++k) run[0].push_back(makeFrame(20, 2, k > 0, k / 2.0, 3 + k));
        const QString out = tmp.path() + "/run";
        QVERIFY(tl::exportFrameData(out.toStdString(), sc, run, false, true));
        for (int k = 0; k < 3; ++k) {
            vtkNew<vtkXMLPolyDataReader> reader;
            reader->SetFileName(QString(out + "/panel0/frame_%1.vtp").arg(k, 4, 10, QChar('0')).toStdString().c_str());
            reader->Update();
            QCOMPARE(reader->GetErrorCode(), 0ul);
            QCOMPARE(reader->GetOutput()->GetNumberOfPoints(), vtkIdType(20));
            QCOMPARE(reader->GetOutput()->GetPointData()->GetArray("speed") != nullptr, k > 0);
        }
    }
};

QTEST_GUILESS_MAIN(TestFrameIoVtk)
#include "tst_frame_io_vtk.moc"
