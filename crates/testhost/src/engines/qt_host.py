# SPDX-License-Identifier: MIT OR Apache-2.0
#
# A minimal QtWebEngine host, as Delta Touch embeds the page: Chromium 87
# inside Qt 5.15. The test host (browser.rs) starts it with
# QTWEBENGINE_REMOTE_DEBUGGING and drives its pages over the DevTools
# protocol, as it drives Chromium. QtWebEngine cannot open a window on a
# DevTools request (Target.createTarget is "Not supported"), so this host
# opens one blank window per line "open" on its standard input; it quits
# when its standard input closes.
import sys

from PyQt5.QtCore import QSocketNotifier, QUrl
from PyQt5.QtWidgets import QApplication
from PyQt5.QtWebEngineWidgets import QWebEnginePage, QWebEngineProfile, QWebEngineView

app = QApplication(sys.argv[:1])
app.setQuitOnLastWindowClosed(False)
# Off the record: nothing of one run is left for the next.
profile = QWebEngineProfile(app)
profile.setHttpAcceptLanguage("en-US")
views = []


def open_window():
    view = QWebEngineView()
    page = QWebEnginePage(profile, view)

    # Camera and microphone are granted, as the messenger grants them to
    # its call window.
    def grant(origin, feature, page=page):
        page.setFeaturePermission(origin, feature, QWebEnginePage.PermissionGrantedByUser)

    page.featurePermissionRequested.connect(grant)
    page.windowCloseRequested.connect(view.close)
    view.setPage(page)
    view.resize(800, 600)
    view.show()
    view.load(QUrl("about:blank"))
    views.append(view)


def command():
    line = sys.stdin.readline()
    if not line:
        app.quit()
    elif line.strip() == "open":
        open_window()


notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Read)
notifier.activated.connect(command)
sys.exit(app.exec_())
