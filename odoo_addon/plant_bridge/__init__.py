from . import clock
from . import models
from . import handlers
from . import wizard

clock.install()
