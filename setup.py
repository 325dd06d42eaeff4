"""sisieg: SISeg (instance segmentation from semantic masks) as a Detectron2 project.

Pure Python, no compiled extension. torch, torchvision and Detectron2 are not declared:
they come from the user's environment (an official Detectron2 build) or from
tools/setup_env.sh, which pins them in requirements/lock.txt.
"""
from setuptools import find_packages, setup

setup(
    name="sisieg",
    version="0.1.0",
    description="SISeg: Synthetic Instance Segmentation from Semantic Image Segmentation Masks, "
    "as a Detectron2 project",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=("sisieg", "sisieg.*")),
    package_data={"sisieg": ["data/mappings/*.json", "data/mappings/*.txt"]},
    install_requires=[
        "numpy",
        "scipy",
        "pycocotools>=2.0.2",
        "opencv-python-headless",
        "tqdm",
        "matplotlib",
        "fvcore",
    ],
    extras_require={"dev": ["pytest"]},
)
