"""tuijian.evaluate"""
