// MeasurePicker: chooses a measure SPEC — any generator kind with its declared keys (fields generated
// from measure/spec.h's declarations), a CSV file, or an image as a density — with a small preview of
// the samples. CSV / PNG / PGM / JPEG files can be dropped on it. Invalid entries show the parser's
// message and are not emitted.
#pragma once
#include <QGroupBox>
#include <QString>

namespace tl::ui {

class MeasurePicker : public QGroupBox {
    Q_OBJECT
public:
    MeasurePicker(const QString& title, QWidget* parent = nullptr);
    ~MeasurePicker() override;

    // Shows `spec` (no signal). Relative file paths resolve against baseDir.
    void setSpec(const QString& spec, const QString& baseDir);
    QString spec() const;
    QString error() const;  // "" when the current entry is valid
    // Sets the picker from a dropped / chosen file: .csv -> CSV, an image -> the image kind. Emits.
    bool setFile(const QString& path);

    static bool acceptsFile(const QString& path);

signals:
    void specChanged(const QString& spec);

protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    struct Impl;
    Impl* d_;
    void rebuildKeys(const QString& kind);
    void commit();
    void updatePreview();
};

}  // namespace tl::ui
