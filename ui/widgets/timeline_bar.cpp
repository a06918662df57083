#include "widgets/timeline_bar.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QSlider>
#include <QToolButton>
#include <algorithm>

namespace tl::ui {

TimelineBar::TimelineBar(QWidget* parent) : QWidget(parent) {
    auto* bar = new QHBoxLayout(this);
    bar->setContentsMargins(8, 4, 8, 4);
    play_ = new QToolButton(this);
    play_->setText("Pause");
    play_->setToolTip("Play / pause (space)");
    auto* stepBack = new QToolButton(this);
    stepBack->setText(QString::fromUtf8("\u25C0"));
    stepBack->setToolTip("Step back one frame (left arrow)");
    auto* stepFwd = new QToolButton(this);
    stepFwd->setText(QString::fromUtf8("\u25B6"));
    stepFwd->setToolTip("Step forward one frame (right arrow)");
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setToolTip("Scrub (left / right arrows step one frame)");
    timeLabel_ = new QLabel("t = 0.00", this);
    timeLabel_->setObjectName("timeLabel");
    timeLabel_->setMinimumWidth(70);
    speed_ = new QComboBox(this);
    for (const Speed& s : kSpeeds) speed_->addItem(s.label);
    speed_->setCurrentIndex(kDefaultSpeed);
    speed_->setToolTip(QString("Playback speed (1x: t from 0 to 1 in %1 s)").arg(kSecondsPerRun));
    loop_ = new QCheckBox("loop", this);
    loop_->setChecked(true);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1000);
    progress_->setMaximumWidth(180);
    progress_->setFormat("computing %p%");
    cancel_ = new QToolButton(this);
    cancel_->setText("Cancel");
    cancel_->setToolTip("Stop computing (the panels keep the frames they have)");
    for (QWidget* w : std::initializer_list<QWidget*>{play_, stepBack, stepFwd}) bar->addWidget(w);
    bar->addWidget(slider_, 1);
    for (QWidget* w : std::initializer_list<QWidget*>{timeLabel_, speed_, loop_, progress_, cancel_}) bar->addWidget(w);

    connect(play_, &QToolButton::clicked, this, &TimelineBar::playPauseClicked);
    connect(stepBack, &QToolButton::clicked, this, [this] { emit stepClicked(-1); });
    connect(stepFwd, &QToolButton::clicked, this, [this] { emit stepClicked(1); });
    // showFrame's / setFrameCount's own updates of the handle are not user changes.
    connect(slider_, &QSlider::valueChanged, this, [this](int f) {
        if (!settingSlider_) emit frameScrubbed(f);
    });
    connect(cancel_, &QToolButton::clicked, this, &TimelineBar::cancelClicked);
}

void TimelineBar::setPlaying(bool playing) { play_->setText(playing ? "Pause" : "Play"); }

void TimelineBar::setFrameCount(int frames) {
    settingSlider_ = true;
    slider_->setRange(0, frames - 1);
    settingSlider_ = false;
}

void TimelineBar::showFrame(int frame) {
    if (slider_->isSliderDown()) return;
    settingSlider_ = true;
    slider_->setValue(frame);
    settingSlider_ = false;
}

void TimelineBar::showTime(double t) {
    timeLabel_->setText(QString("t = %1").arg(t, 0, 'f', 2));  // as the views' status lines
}

double TimelineBar::advance(double seconds) const {
    const int k = std::clamp(speed_->currentIndex(), 0, static_cast<int>(kSpeeds.size()) - 1);
    return seconds * kSpeeds[static_cast<std::size_t>(k)].factor / kSecondsPerRun;
}

bool TimelineBar::loops() const { return loop_->isChecked(); }

void TimelineBar::setProgress(double fraction) { progress_->setValue(static_cast<int>(1000 * fraction)); }

void TimelineBar::setComputing(bool computing) {
    progress_->setVisible(computing);
    cancel_->setVisible(computing);
}

QSlider* TimelineBar::slider() const { return slider_; }

}  // namespace tl::ui
