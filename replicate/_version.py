# The version epoch ("1!") puts every release of this distribution in a range that the official
# package of the same name has never used, so a plugin's `replicate>=1!0.1,<1!1` is met only by
# this SDK: pip never installs the official one in its place.
__version__ = "1!0.1.0"
__title__ = "replicate"
