# The same daemon as `twistd -n whitebrd`, for `twistd -ny whitebrd.tac`.
# Options come from the WHITEBRD_OPTIONS environment variable, e.g.
# WHITEBRD_OPTIONS="--listen tcp:8080 --redis redis://127.0.0.1:6379/0".
import os
import shlex

from twisted.application.service import Application

from whitebrd.tap import Options, makeService

options = Options()
options.parseOptions(shlex.split(os.environ.get("WHITEBRD_OPTIONS", "")))
application = Application("whitebrd")
makeService(options).setServiceParent(application)
